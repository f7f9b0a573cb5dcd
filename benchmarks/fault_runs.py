"""Fault cases that need real processes: signals, kill -9 and the resume after them.

Each function is a `Case.run`: it drives `python -m gnivo_cli` as subprocesses (an in-process runner cannot
be killed), checks what the resumed run left behind, and returns one `Outcome` whose error line says what
happened, so the fault table shows it like any other case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from faults import Case, Outcome, Workspace

from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.training import run_files


def _start(workspace: Workspace, args: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
    env.update(extra_env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "gnivo_cli", *args],
        cwd=workspace.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen, timeout_s: float) -> tuple[int | None, str]:
    try:
        _, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        return None, err
    return process.returncode, err


def _wait_until(condition: Callable[[], bool], process: subprocess.Popen, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def _train_args(workspace: Workspace, name: str, steps: int, save_steps: int) -> tuple[list[str], Path]:
    recipe = workspace.recipe(
        name,
        data={"synthetic": {"count": 200}},
        training={"max_steps": steps, "save_steps": save_steps},
    )
    return ["train", str(recipe)], workspace.path(f"run-{name}")


def _check_resumed_run(run: Path, steps: int, per_step: int) -> str | None:
    """Why the finished run is not the uninterrupted one's shape, or None."""
    logged = [row["step"] for row in run_files.read_metrics(run)]
    if logged != list(range(1, steps + 1)):
        return f"metrics.jsonl steps {logged}, expected 1..{steps} once each"
    summary = read_json_object(run / run_files.SUMMARY_FILE, invalid="none") or {}
    if summary.get("samples_generated") != steps * per_step:
        return f"summary samples_generated {summary.get('samples_generated')}, expected {steps * per_step}"
    return None


def train_signal(signum: int) -> Callable[[Workspace, Case], Outcome]:
    """SIGINT/SIGTERM mid-train: the step ends, a checkpoint is saved, and --resume completes the run."""

    def run(workspace: Workspace, case: Case) -> Outcome:
        started = time.perf_counter()
        args, out = _train_args(workspace, f"signal-{signum}", steps=20, save_steps=1000)
        process = _start(workspace, args)
        if not _wait_until(lambda: len(run_files.read_metrics(out)) >= 1, process, case.timeout_s):
            code, err = _finish(process, 5)
            return Outcome(code, err, seconds=time.perf_counter() - started)
        process.send_signal(signum)
        code, err = _finish(process, case.timeout_s)
        stopped = run_files.latest_checkpoint(out)
        if code != case.exit_code or stopped is None:
            return Outcome(code, err + "\nno checkpoint saved", seconds=time.perf_counter() - started)
        resumed_code, resumed_err = _finish(_start(workspace, [*args, "--resume"]), case.timeout_s * 3)
        problem = _check_resumed_run(out, 20, 2) if resumed_code == 0 else f"--resume exited {resumed_code}"
        lines = [line for line in err.splitlines() if "stopped by" in line]
        summary = lines[0] if lines and problem is None else f"error: {problem}\n{resumed_err[-500:]}"
        return Outcome(code, summary, seconds=time.perf_counter() - started)

    return run


def train_kill9(workspace: Workspace, case: Case) -> Outcome:
    """kill -9 mid-train, after a checkpoint: --resume ends with each step once and the right counters."""
    started = time.perf_counter()
    args, out = _train_args(workspace, "kill9", steps=8, save_steps=1)
    process = _start(workspace, args)
    reached = _wait_until(
        lambda: (run_files.checkpoint_step(run_files.latest_checkpoint(out) or out) or 0) >= 2, process, 60
    )
    process.kill()
    process.communicate()
    if not reached:
        return Outcome(1, "error: no checkpoint before the kill", seconds=time.perf_counter() - started)
    code, err = _finish(_start(workspace, [*args, "--resume"]), case.timeout_s)
    problem = _check_resumed_run(out, 8, 2) if code == 0 else f"--resume exited {code}: {err[-300:]}"
    line = "resumed: steps 1..8 once each, 16 samples counted" if problem is None else f"error: {problem}"
    return Outcome(0 if problem is None else 1, line, seconds=time.perf_counter() - started)


def _lines(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def eval_kill9(workspace: Workspace, case: Case) -> Outcome:
    """kill -9 mid-eval: the rerun keeps the finished samples and ends with each sample once."""
    started = time.perf_counter()
    data = workspace.file("eval-kill-aime.jsonl", "".join(_aime_row(i) for i in range(1, 9)))
    out = workspace.path("eval-kill9")
    args = ["eval", "--bench", "aime24", "--data", str(data), "--model", str(workspace.model), "--samples", "4"]
    args += ["--pass-at", "1", "--max-new-tokens", "24", "--batch-size", "2", "-o", str(out)]
    process = _start(workspace, args)
    samples = out / "samples.jsonl"
    reached = _wait_until(lambda: len(_lines(samples)) >= 2, process, 60)
    process.kill()
    process.communicate()
    kept = len(_lines(samples))
    if not reached:
        return Outcome(1, "error: eval finished or failed before the kill", seconds=time.perf_counter() - started)
    code, err = _finish(_start(workspace, args), case.timeout_s)
    rows = _lines(samples)
    keys = {(row["problem_id"], row["sample_index"]) for row in rows}
    if code != 0:
        line = f"error: rerun exited {code}: {err.strip().splitlines()[-1:]}"
    elif len(rows) != 32 or len(keys) != 32:
        line = f"error: {len(rows)} sample rows ({len(keys)} distinct), expected 32 once each"
    else:
        line = f"resumed: {kept} samples kept from the killed run, 32 in all, each once"
    return Outcome(0 if line.startswith("resumed") else 1, line, seconds=time.perf_counter() - started)


def _aime_row(index: int) -> str:
    return json.dumps({"id": index, "problem": f"What is {index} + {index}?", "answer": str(2 * index)}) + "\n"


def score_kill9(workspace: Workspace, case: Case) -> Outcome:
    """kill -9 mid-score: the rerun scores only the rows not yet written, and the output has every row once."""
    started = time.perf_counter()
    rows = 100_000  # integer answers settle in microseconds: the rows make it long enough to kill
    text = "".join(
        json.dumps({"id": i, "prompt": "q", "completion": f"so \\boxed{{{i}}}", "answer": str(i)}) + "\n"
        for i in range(rows)
    )
    source = workspace.file("score-kill.jsonl", text)
    out = workspace.path("score-kill.scored.jsonl")
    args = ["score", str(source), "--reward", "math", "-o", str(out)]
    process = _start(workspace, args)
    partial = out.with_name(out.name + ".partial")
    reached = _wait_until(lambda: partial.is_file() and partial.stat().st_size > 200_000, process, 90)
    process.kill()
    process.communicate()
    kept = len(_lines(partial))
    if not reached:
        return Outcome(1, "error: scoring finished or failed before the kill", seconds=time.perf_counter() - started)
    code, err = _finish(_start(workspace, args), case.timeout_s * 3)
    scored = _lines(out)
    ids = [row["id"] for row in scored]
    if code != 0:
        line = f"error: rerun exited {code}: {err.strip().splitlines()[-1:]}"
    elif ids != list(range(rows)):
        line = f"error: {len(ids)} rows in the output, expected ids 0..{rows - 1} once each, in order"
    else:
        line = f"resumed: {kept} rows kept from the killed run, {rows} in all, each once"
    return Outcome(0 if line.startswith("resumed") else 1, line, seconds=time.perf_counter() - started)


def _trained(workspace: Workspace, name: str) -> tuple[list[str], Path, Outcome | None]:
    args, out = _train_args(workspace, name, steps=2, save_steps=1)
    code, err = _finish(_start(workspace, args), 120)
    return args, out, None if code == 0 else Outcome(code, err)


def resume_changed_recipe(workspace: Workspace, case: Case) -> Outcome:
    """--resume with a recipe that changes the experiment is refused, naming the key."""
    started = time.perf_counter()
    args, _, failed = _trained(workspace, "resume-changed")
    if failed:
        return failed
    code, err = _finish(_start(workspace, [*args, "--resume", "--set", "algorithm.alpha=5.0"]), case.timeout_s)
    return Outcome(code, err, seconds=time.perf_counter() - started)


def resume_finished_run(workspace: Workspace, case: Case) -> Outcome:
    """--resume on a finished run says so and trains nothing (summary.json untouched)."""
    started = time.perf_counter()
    args, out, failed = _trained(workspace, "resume-finished")
    if failed:
        return failed
    before = (out / run_files.SUMMARY_FILE).read_text()
    code, err = _finish(_start(workspace, [*args, "--resume"]), case.timeout_s)
    if (out / run_files.SUMMARY_FILE).read_text() != before:
        return Outcome(1, "error: summary.json was rewritten")
    said = "\n".join(line for line in err.splitlines() if "finished" in line) or err
    return Outcome(code, said, seconds=time.perf_counter() - started)


def resume_torn_metrics(workspace: Workspace, case: Case) -> Outcome:
    """A half-written last metrics line (the process died mid-write) is read as absent on --resume."""
    started = time.perf_counter()
    args, out = _train_args(workspace, "resume-torn", steps=3, save_steps=1)
    code, err = _finish(_start(workspace, [*args, "--set", "training.max_steps=2"]), 120)
    if code != 0:
        return Outcome(code, err)
    (out / run_files.SUMMARY_FILE).unlink()
    with (out / run_files.METRICS_FILE).open("a") as handle:
        handle.write('{"step": 3, "rew')
    code, err = _finish(_start(workspace, [*args, "--resume"]), case.timeout_s)
    logged = [row["step"] for row in run_files.read_metrics(out)]
    line = f"resumed: steps {logged}" if code == 0 and logged == [1, 2, 3] else f"error: exit {code}, steps {logged}"
    return Outcome(code, line + ("" if code == 0 else "\n" + err[-300:]), seconds=time.perf_counter() - started)


def failed_start_retry(workspace: Workspace, case: Case) -> Outcome:
    """A start refused after the model loads writes nothing, so the corrected rerun needs no --resume."""
    started = time.perf_counter()
    name = "failed-start"
    bad = workspace.recipe(name, lora={"enabled": True, "target_modules": ["no_such_module"]})
    code, err = _finish(_start(workspace, ["train", str(bad)]), 120)
    out = workspace.path(f"run-{name}")
    if code != 1 or out.exists():
        return Outcome(code, f"error: the failed start exited {code} and left {out.exists() and list(out.iterdir())}")
    good = workspace.recipe(name)
    code, err = _finish(_start(workspace, ["train", str(good)]), case.timeout_s)
    said = "retried: trained without --resume" if code == 0 else err
    return Outcome(code, said, seconds=time.perf_counter() - started)
