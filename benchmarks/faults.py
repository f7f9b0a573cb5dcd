"""Fault table: run a catalogue of bad inputs and faults against the installed `gnivo` CLI on a tiny model.

Each case sets up files in a scratch folder (a 2-layer Llama with its tokenizer is built there once),
runs one `gnivo` command as a subprocess and checks what came back: the exit code, no traceback, and the
first `error:` line matching the case's pattern. One row per case, then a count:

    python benchmarks/faults.py                # every case
    python benchmarks/faults.py -k yaml -k hub # only cases whose name contains one of these

The cases live in benchmarks/fault_cases.py (add one there: a name, a setup that returns the command's
arguments, the expected exit code and error pattern, or a `run` of its own for kill/interrupt/resume
faults). tests/integration/test_faults.py runs every case too.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None  # None: it did not finish within the case's timeout
    stderr: str
    stdout: str = ""
    seconds: float = 0.0

    @property
    def error_line(self) -> str:
        """The first `error:` line, else the last non-blank line of stderr."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return next((line for line in lines if line.startswith("error:")), lines[-1] if lines else "")


@dataclass(frozen=True)
class Case:
    name: str
    setup: Callable[[Workspace], list[str]]  # writes what the case needs; returns the `gnivo` arguments
    expect: str  # a regular expression the first error line must match (re.search)
    exit_code: int = 1
    env: dict[str, str] = field(default_factory=dict)  # added to the environment; "" removes a variable
    timeout_s: float = 120
    loads_model: bool = False  # the command gets as far as loading the tiny model (slower)
    run: Callable[[Workspace, Case], Outcome] | None = None  # a custom run (signals, resume); default: once
    max_stderr_lines: int | None = None  # e.g. no retry warnings before the error

    @property
    def expected(self) -> str:
        return f"exit {self.exit_code}: {self.expect}"


def verdict(case: Case, outcome: Outcome) -> str | None:
    """Why `outcome` is not what `case` expects, or None when it is."""
    if outcome.exit_code is None:
        return f"did not finish within {case.timeout_s:.0f} s"
    if TRACEBACK in outcome.stderr:
        return "printed a traceback"
    if outcome.exit_code != case.exit_code:
        return f"exit {outcome.exit_code}, expected {case.exit_code}"
    if not re.search(case.expect, outcome.error_line):
        return f"error line does not match {case.expect!r}"
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    if case.max_stderr_lines is not None and len(lines) > case.max_stderr_lines:
        return f"printed {len(lines)} lines on stderr, at most {case.max_stderr_lines} expected"
    return None


class Workspace:
    """A scratch folder with a tiny model, recipe writers and the command that runs `gnivo`."""

    def __init__(self, root: Path, runner: Runner | None = None):
        self.root = root
        self.runner = runner or run_installed
        self.model = root / "tiny-model"
        if not (self.model / "config.json").is_file():
            build_tiny_model(self.model)

    def path(self, name: str) -> Path:
        return self.root / name

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def base_recipe(self, name: str) -> dict[str, Any]:
        """A recipe that trains one step on the tiny model in a few seconds."""
        return {
            "model": {"name": str(self.model)},
            "data": {"source": "synthetic:arithmetic", "synthetic": {"count": 8}},
            "rewards": [{"name": "math"}],
            "algorithm": {"name": "gnivo", "num_generations": 2},
            "generation": {"max_new_tokens": 8},
            "training": {"max_steps": 1, "per_device_batch_size": 2, "output_dir": str(self.root / f"run-{name}")},
        }

    def recipe(self, name: str, **changes: dict[str, Any] | list[Any] | None) -> Path:
        """The base recipe with sections updated (a section given as None is removed), written as YAML."""
        data = self.base_recipe(name)
        for section, value in changes.items():
            if value is None:
                data.pop(section, None)
            elif isinstance(value, dict) and isinstance(data.get(section), dict):
                merged = {**data[section], **value}
                data[section] = {key: item for key, item in merged.items() if item is not None}
            else:
                data[section] = value
        return self.file(f"{name}.yaml", yaml.safe_dump(data, sort_keys=False))

    def run(self, args: list[str], *, env: dict[str, str] | None = None, timeout_s: float = 120) -> Outcome:
        return self.runner(self, args, env or {}, timeout_s)


#: Runs `gnivo ARGS` in a workspace with extra environment variables ("" removes one) under a timeout.
Runner = Callable[[Workspace, list[str], dict[str, str], float], Outcome]


def run_installed(workspace: Workspace, args: list[str], env: dict[str, str], timeout_s: float) -> Outcome:
    """The installed `gnivo` script, as a subprocess in the workspace folder."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    for key, value in env.items():
        if value:
            environment[key] = value
        else:
            environment.pop(key, None)
    command = [shutil.which("gnivo") or "gnivo", *args]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=workspace.root, env=environment, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as error:
        return Outcome(None, _text(error.stderr), _text(error.stdout), time.perf_counter() - started)
    return Outcome(done.returncode, done.stderr, done.stdout, time.perf_counter() - started)


def _text(value: bytes | str | None) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value or ""


def run_case(workspace: Workspace, case: Case) -> Outcome:
    if case.run is not None:
        return case.run(workspace, case)
    return workspace.run(case.setup(workspace), env=case.env, timeout_s=case.timeout_s)


def build_tiny_model(target: Path) -> None:
    """A 2-layer Llama (hidden size 32) with a byte-level BPE tokenizer and a ChatML template."""
    from gnivo_cli.models.tiny import save_tiny_model

    save_tiny_model(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", action="append", default=[], help="run only cases whose name contains this")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fault_cases import CASES

    cases = [c for c in CASES if not args.k or any(k in c.name for k in args.k)]
    gnivo = shutil.which("gnivo")
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} {os.cpu_count()} CPUs, gnivo = {gnivo}")
    print("| case | expected | got | seconds | as expected |")
    print("|---|---|---|---:|---|")
    passed = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gnivo-faults-") as scratch:
        workspace = Workspace(Path(scratch))
        for case in cases:
            outcome = run_case(workspace, case)
            problem = verdict(case, outcome)
            passed += problem is None
            got = f"exit {outcome.exit_code}: {outcome.error_line}".replace(scratch, "$TMP")
            cells = [
                case.name,
                case.expected,
                got,
                f"{outcome.seconds:.1f}",
                "yes" if problem is None else f"NO: {problem}",
            ]
            print("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |", flush=True)
    print(f"\n{passed}/{len(cases)} cases as expected ({time.perf_counter() - started:.0f} s)")
    raise SystemExit(0 if passed == len(cases) else 1)


if __name__ == "__main__":
    main()
