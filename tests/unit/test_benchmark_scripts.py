"""Every script in benchmarks/ with a `main()` runs it when called (`python benchmarks/x.py`): a lost
`if __name__ == "__main__":` guard makes a script exit 0 having measured nothing, which a rerun would not notice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(path for path in BENCHMARKS.glob("*.py") if "\ndef main(" in path.read_text(encoding="utf-8"))


def test_there_are_scripts_to_check():
    assert {"quickstart.py", "credit.py", "values.py"} <= {path.name for path in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_a_script_with_main_calls_it(script):
    assert 'if __name__ == "__main__":' in script.read_text(encoding="utf-8"), f"{script.name} never calls main()"


def test_quickstart_script_answers_help():
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "quickstart.py"), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "--seeds" in done.stdout, done.stderr
