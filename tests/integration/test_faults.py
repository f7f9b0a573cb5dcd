"""Every case of the fault table (benchmarks/fault_cases.py), run in-process through the CLI's entry point:
the exit code, no traceback, and the first error line as the case expects."""

from __future__ import annotations

import dataclasses
import io
import os
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from fault_cases import CASES
from faults import Outcome, Workspace, run_case, verdict

from gnivo_cli import hub
from gnivo_cli.cli import main


def _in_process(monkeypatch):
    def run(workspace: Workspace, args: list[str], env: dict[str, str], timeout_s: float) -> Outcome:
        for key, value in env.items():
            if value:
                monkeypatch.setenv(key, value)
            else:
                monkeypatch.delenv(key, raising=False)
        monkeypatch.chdir(workspace.root)
        monkeypatch.setattr(hub, "_probe_result", {})
        err, out = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        with redirect_stderr(err), redirect_stdout(out):
            try:
                main(args)
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
        return Outcome(code, err.getvalue(), out.getvalue(), time.perf_counter() - started)

    return run


@pytest.fixture(scope="session")
def fault_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("faults")
    Workspace(root)  # builds the tiny model once
    return root


def test_case_names_are_unique():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)) and len(names) >= 25


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.loads_model else []) for c in CASES]
)
def test_fault_case(case, fault_root, monkeypatch):
    workspace = Workspace(fault_root, runner=_in_process(monkeypatch))
    outcome = run_case(workspace, case)
    assert verdict(case, outcome) is None, (outcome.exit_code, outcome.stderr[-2000:])


def test_verdict_catches_a_traceback_and_a_wrong_message():
    case = CASES[0]
    assert (
        verdict(case, Outcome(1, "Traceback (most recent call last):\n  ...\nValueError: x")) == "printed a traceback"
    )
    assert "does not match" in verdict(case, Outcome(1, "error: something else"))
    assert verdict(case, Outcome(0, "")) == "exit 0, expected 1"
    assert "did not finish" in verdict(case, Outcome(None, ""))
    chatty = Outcome(1, "Retrying in 1s\n" * 3 + "error: training.learning_rate: must be a finite number, got inf")
    assert verdict(case, chatty) is None
    assert (
        verdict(dataclasses.replace(case, max_stderr_lines=1), chatty)
        == "printed 4 lines on stderr, at most 1 expected"
    )
    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # the in-process runner leaves the test environment as it was
