"""Fault cases about a run's life: two writers, resuming a live or half-finished run, stopping while it
starts or generates, a full disk. Each function is a `Case.run` (see fault_runs.py for the pattern): real
`python -m gnivo_cli` processes, waiting for a state (a file, a mapped library) rather than sleeping.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from fault_runs import _finish, _start, _trained, _wait_until
from faults import Case, Outcome, Workspace

from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.files.locking import LOCK_FILE
from gnivo_cli.training import run_files


def _long_run(workspace: Workspace, name: str, **training: int) -> tuple[list[str], Path]:
    recipe = workspace.recipe(
        name, data={"synthetic": {"count": 2000}}, training={"max_steps": 400, "save_steps": 1000, **training}
    )
    return ["train", str(recipe)], workspace.path(f"run-{name}")


def _steps(run: Path) -> list[int]:
    return [row["step"] for row in run_files.read_metrics(run)]


def second_writer(resume: bool) -> Callable[[Workspace, Case], Outcome]:
    """While a run trains, a second `gnivo train` into its folder (or a --resume of it) is refused at once and
    the first run carries on untouched: stopped with SIGTERM, its metrics hold each step once, in order."""

    def run(workspace: Workspace, case: Case) -> Outcome:
        started = time.perf_counter()
        args, out = _long_run(workspace, f"second-writer-{'resume' if resume else 'fresh'}")
        first = _start(workspace, args)
        if not _wait_until(lambda: len(run_files.read_metrics(out)) >= 1, first, case.timeout_s):
            code, err = _finish(first, 5)
            return Outcome(code, f"error: the first run did not train\n{err[-500:]}")
        code, err = _finish(_start(workspace, [*args, *(["--resume"] if resume else [])]), case.timeout_s)
        seconds = time.perf_counter() - started
        first.send_signal(signal.SIGTERM)
        first_code, first_err = _finish(first, case.timeout_s)
        steps = _steps(out)
        if first_code != 143 or steps != list(range(1, len(steps) + 1)):
            return Outcome(1, f"error: the first run exited {first_code} with steps {steps}\n{first_err[-300:]}")
        return Outcome(code, err, seconds=seconds)

    return run


def finished_without_summary(torn: bool) -> Callable[[Workspace, Case], Outcome]:
    """A run killed while finishing (summary.json missing or torn, final/ half-written) is finished from its last
    checkpoint by --resume: nothing trained, final/ and summary.json rebuilt, and a second --resume agrees."""

    def run(workspace: Workspace, case: Case) -> Outcome:
        started = time.perf_counter()
        args, out, failed = _trained(workspace, f"finished-{'torn' if torn else 'missing'}-summary")
        if failed:
            return failed
        summary = out / run_files.SUMMARY_FILE
        summary.write_text('{"steps": 2, "alg') if torn else summary.unlink()
        (out / run_files.FINAL_DIR / "model.safetensors").write_bytes(b"half")
        code, err = _finish(_start(workspace, [*args, "--resume"]), case.timeout_s)
        again, again_err = _finish(_start(workspace, [*args, "--resume"]), case.timeout_s)
        weights = (out / run_files.FINAL_DIR / "model.safetensors").read_bytes()
        agrees = again == 0 and "is finished (2 of 2 steps)" in again_err
        problems = [
            f"steps {_steps(out)}" if _steps(out) != [1, 2] else "",
            "final/ not rebuilt" if weights != (out / "checkpoint-2" / "model.safetensors").read_bytes() else "",
            "no summary" if (read_json_object(summary, invalid="none") or {}).get("steps") != 2 else "",
            "" if agrees else f"second --resume: {again_err[-200:]}",
        ]
        if any(problems):
            return Outcome(1, "error: " + "; ".join(p for p in problems if p))
        said = next((line for line in err.splitlines() if "rebuilt" in line), err)
        return Outcome(code, said, seconds=time.perf_counter() - started)

    return run


def users_recipe_kept(workspace: Workspace, case: Case) -> Outcome:
    """`gnivo train recipe.yaml -o .` in a folder holding only the user's own recipe.yaml is refused; the file
    stays as it was, comments and all."""
    started = time.perf_counter()
    folder = workspace.path("users-recipe")
    folder.mkdir(exist_ok=True)
    text = "# my experiment, hand-written\n" + workspace.recipe("users-recipe").read_text()
    recipe = folder / run_files.RECIPE_FILE
    recipe.write_text(text)
    code, err = _finish(_start(workspace, ["train", str(recipe), "-o", str(folder)]), case.timeout_s)
    if recipe.read_text() != text or sorted(p.name for p in folder.iterdir()) != [run_files.RECIPE_FILE]:
        return Outcome(1, "error: the user's recipe.yaml or its folder was changed")
    return Outcome(code, err, seconds=time.perf_counter() - started)


def other_process_count(workspace: Workspace, case: Case) -> Outcome:
    """--resume --num-processes 2 of a run trained by one process is refused before anything launches."""
    started = time.perf_counter()
    args, out, failed = _trained(workspace, "process-count")
    if failed:
        return failed
    before = (out / run_files.METRICS_FILE).read_text()
    code, err = _finish(_start(workspace, [*args, "--resume", "--num-processes", "2"]), case.timeout_s)
    if (out / run_files.METRICS_FILE).read_text() != before or (out / run_files.RESUMES_FILE).exists():
        return Outcome(1, "error: the refused resume changed the run")
    return Outcome(code, err, seconds=time.perf_counter() - started)


def resume_finding(change: str) -> Callable[[Workspace, Case], Outcome]:
    """--resume after someone emptied metrics.jsonl, edited the run's recipe.yaml, or broke its YAML: a note that
    resumes.jsonl records it (emptied, edited) or one clear line (invalid YAML)."""

    def run(workspace: Workspace, case: Case) -> Outcome:
        started = time.perf_counter()
        args, out, failed = _trained(workspace, f"resume-{change}")
        if failed:
            return failed
        recipe = out / run_files.RECIPE_FILE
        if change == "emptied-metrics":
            (out / run_files.METRICS_FILE).write_text("")
        elif change == "edited-recipe":
            recipe.write_text(recipe.read_text() + "# tuned by hand\n")
        else:
            recipe.write_text("model: [\n")
        code, err = _finish(_start(workspace, [*args, "--resume", "--set", "training.max_steps=3"]), case.timeout_s)
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        if len(errors) > 1:
            return Outcome(1, f"error: {len(errors)} error lines, one expected: {errors}")
        if code != 0:
            return Outcome(code, err, seconds=time.perf_counter() - started)
        rows = [json.loads(line) for line in (out / run_files.RESUMES_FILE).read_text().splitlines()]
        recorded = {"emptied-metrics": "metrics_missing_steps", "edited-recipe": "recipe_edited"}[change]
        if not rows or recorded not in rows[-1]:
            return Outcome(1, f"error: resumes.jsonl does not record {recorded}: {rows}")
        said = next((line for line in err.splitlines() if "records" in line), err)
        return Outcome(code, said, seconds=time.perf_counter() - started)

    return run


def _torch_mapped(pid: int) -> bool:
    """Whether torch's library is in the process's memory map: the libraries are loading."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def interrupt_while_loading(workspace: Workspace, case: Case) -> Outcome:
    """Ctrl-C while the libraries and the model load stops the start: exit 130, and nothing written."""
    started = time.perf_counter()
    args, out = _long_run(workspace, "interrupt-loading")
    process = _start(workspace, args)
    if not _wait_until(lambda: _torch_mapped(process.pid), process, case.timeout_s):
        code, err = _finish(process, 5)
        return Outcome(code, f"error: torch never loaded\n{err[-300:]}")
    process.send_signal(signal.SIGINT)
    code, err = _finish(process, case.timeout_s)
    # A few tries end by SIGINT after gnivo's message (-2; a shell shows 130): the same stop, said the same way.
    code = 130 if code == -signal.SIGINT else code
    if out.exists():
        return Outcome(1, f"error: exit {code}, and {out} was written: {sorted(p.name for p in out.iterdir())}")
    return Outcome(code, err, seconds=time.perf_counter() - started)


def sigterm_in_long_generation(workspace: Workspace, case: Case) -> Outcome:
    """SIGTERM while long completions generate ends the generation at the next token, then saves and stops."""
    recipe = workspace.recipe(
        "long-generation",
        data={"synthetic": {"count": 2000}},
        generation={"max_new_tokens": 470},
        training={"max_steps": 400, "save_steps": 1000, "per_device_batch_size": 8},
    )
    out = workspace.path("run-long-generation")
    process = _start(workspace, ["train", str(recipe)])
    if not _wait_until(lambda: len(run_files.read_metrics(out)) >= 1, process, case.timeout_s):
        code, err = _finish(process, 5)
        return Outcome(code, f"error: no step trained\n{err[-300:]}")
    signalled = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    code, err = _finish(process, case.timeout_s)
    stopped = run_files.latest_checkpoint(out)
    if stopped is None:
        return Outcome(1, f"error: exit {code}, no checkpoint saved\n{err[-300:]}")
    said = next((line for line in err.splitlines() if "stopped by" in line), err)
    return Outcome(code, said, seconds=time.perf_counter() - signalled)


#: Runs gnivo with torch's writer failing as on a full disk, inside checkpoint-2, and the disk reported full.
_FULL_DISK = """
import shutil, sys, torch
from collections import namedtuple
import gnivo_cli.files.paths as paths
real_save = torch.save
def save(obj, f, *args, **kwargs):
    if "checkpoint-2" in str(f):
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 5120 vs 5012")
    return real_save(obj, f, *args, **kwargs)
torch.save = save
usage = namedtuple("usage", "total used free")
paths.shutil.disk_usage = lambda path: usage(2**30, 2**30, 0)
from gnivo_cli.cli import main
main(sys.argv[1:])
"""


def disk_full_at_a_checkpoint(workspace: Workspace, case: Case) -> Outcome:
    """A checkpoint save on a full disk says so, naming the disk and the checkpoint to resume from; the resume
    (with space again) ends with every step once."""
    started = time.perf_counter()
    recipe = workspace.recipe("disk-full", training={"max_steps": 3, "save_steps": 1})
    args = ["train", str(recipe)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    full = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, *args], cwd=workspace.root, env=env, capture_output=True, text=True
    )
    out = workspace.path("run-disk-full")
    code, err = _finish(_start(workspace, [*args, "--resume"]), case.timeout_s)
    if code != 0 or _steps(out) != [1, 2, 3]:
        return Outcome(1, f"error: the resume exited {code} with steps {_steps(out)}\n{err[-300:]}")
    return Outcome(full.returncode, full.stderr, seconds=time.perf_counter() - started)


def stale_lock_after_kill9(workspace: Workspace, case: Case) -> Outcome:
    """kill -9 leaves the run's lock file behind; it blocks nothing: --resume takes the lock and finishes."""
    started = time.perf_counter()
    recipe = workspace.recipe(
        "stale-lock", data={"synthetic": {"count": 200}}, training={"max_steps": 6, "save_steps": 1}
    )
    args = ["train", str(recipe)]
    out = workspace.path("run-stale-lock")
    process = _start(workspace, args)
    reached = _wait_until(lambda: run_files.latest_checkpoint(out) is not None, process, case.timeout_s)
    process.kill()
    process.communicate()
    if not reached or not (out / LOCK_FILE).exists():
        return Outcome(1, "error: no checkpoint (or no lock file) before the kill")
    code, err = _finish(_start(workspace, [*args, "--resume"]), case.timeout_s)
    steps = _steps(out)
    if code != 0 or steps != list(range(1, 7)) or (out / LOCK_FILE).exists():
        return Outcome(1, f"error: --resume exited {code}, steps {steps}\n{err[-300:]}")
    line = "resumed past the stale gnivo.lock: steps 1..6 once each, lock released"
    return Outcome(0, line, seconds=time.perf_counter() - started)
