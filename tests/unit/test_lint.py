"""The code passes ruff, at the version the dev extra pins, so style is checked where the suite runs (CI too)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    # The ruff of this interpreter's environment, the pinned one, never another on PATH.
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed: pip install -e '.[dev]'")
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_no_lint_errors():
    result = ruff("check", "--quiet", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_ruff_formatted():
    result = ruff("format", "--check", "--quiet", ".")
    assert result.returncode == 0, "ruff format would change:\n" + result.stdout + result.stderr
