"""Deciding how a run starts: fresh, resumed from a checkpoint, or not at all.

A resumed run must be the experiment it was: the recipe may change only where that is safe (train for
longer, save more or less often), and every change is recorded in resumes.jsonl.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gnivo_cli.differences import leaf_changes
from gnivo_cli.errors import GnivoError
from gnivo_cli.files.atomic import write_text_atomic
from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.files.locking import LOCK_FILE
from gnivo_cli.files.paths import check_output_dir
from gnivo_cli.recipe.loader import recorded_recipe
from gnivo_cli.training import run_files

#: Recipe keys a resume may change; everything else defines the experiment.
SAFE_ON_RESUME = (
    "training.max_steps",
    "training.save_steps",
    "training.log_completions",
    "training.output_dir",
    "training.report_to",
    "training.project",
    "training.run_name",
)


@dataclass
class StartPlan:
    """Where training starts. `checkpoint` None means step 0."""

    checkpoint: Path | None = None
    resumed: bool = False
    finished: bool = False  # the run is already complete: nothing to train
    notes: list[str] = field(default_factory=list)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    removed: list[Path] = field(default_factory=list)
    #: A run that trained to the end but stopped before its summary was written: finish it from this checkpoint.
    rebuild_from: Path | None = None
    world_size: int = 1  # processes training this start
    #: What a resume found and records in resumes.jsonl beside the changes (an edited recipe.yaml, lost rows).
    findings: dict[str, Any] = field(default_factory=dict)

    @property
    def start_step(self) -> int:
        return 0 if self.checkpoint is None else run_files.checkpoint_step(self.checkpoint) or 0


def plan_start(recipe: Any, output_dir: Path, resume: bool, *, world_size: int = 1) -> StartPlan:
    """Check the output dir against the recipe; refuse anything that would lose or misrecord work."""
    if not resume:
        return _plan_fresh(output_dir, world_size)
    if not output_dir.is_dir():
        raise GnivoError(f"--resume: {output_dir} does not exist; drop --resume to start a new run")
    stored = recorded_recipe(output_dir, why="cannot check the resumed recipe against it")
    if stored is None:
        raise GnivoError(f"--resume: {output_dir} holds no gnivo run (no {run_files.RECIPE_FILE}); drop --resume")
    plan = StartPlan(resumed=True, changes=leaf_changes(stored, recipe.to_dict()), world_size=world_size)
    forbidden = [key for key in plan.changes if key not in SAFE_ON_RESUME]
    if forbidden:
        listed = ", ".join(
            f"{key} ({_show(old)} -> {_show(new)})" for key, (old, new) in plan.changes.items() if key in forbidden
        )
        raise GnivoError(
            f"--resume: the recipe differs from the run's {run_files.RECIPE_FILE} in {listed}; "
            f"a resume may change only {', '.join(SAFE_ON_RESUME[:2])}: "
            "start a new run with another --output-dir to change the experiment"
        )
    if run_files.recipe_origin(output_dir) == "edited":
        plan.findings["recipe_edited"] = True
        plan.notes.append(
            f"{output_dir / run_files.RECIPE_FILE} was edited after gnivo wrote it: the resume is checked against "
            f"the edited recipe, and {run_files.RESUMES_FILE} records it"
        )
    max_steps = recipe.training.max_steps
    if _finished(plan, output_dir, max_steps):
        return plan
    plan.checkpoint = run_files.latest_checkpoint(output_dir)
    if plan.start_step > max_steps:
        raise GnivoError(
            f"--resume: training.max_steps ({max_steps}) is below step {plan.start_step}, which {output_dir} has "
            "already reached"
        )
    check_world_size(plan.checkpoint, world_size)
    plan.removed = [
        p for p in run_files.incomplete_checkpoints(output_dir) if run_files.checkpoint_step(p) > plan.start_step
    ]
    for path in plan.removed:
        plan.notes.append(f"{path.name} was not completely written (the run stopped while saving it): removed")
    if plan.checkpoint is None:
        plan.notes.append(f"{output_dir} has no complete checkpoint yet: training starts again from step 0")
        return plan
    plan.notes.append(f"resuming from {plan.checkpoint.name}")
    _note_missing_metrics(plan, output_dir)
    passes = recipe.algorithm.num_iterations
    if plan.start_step % passes:  # the final checkpoint of a run whose max_steps was not a multiple
        plan.notes.append(
            f"step {plan.start_step} falls inside the {passes} passes over one generated batch "
            "(algorithm.num_iterations), and the batch is not saved: training goes on with a new batch"
        )
    return plan


def _finished(plan: StartPlan, output_dir: Path, max_steps: int) -> bool:
    """Whether the run has nothing left to train: its summary says so, or (a stop while it finished: no summary,
    or a torn one) its last complete checkpoint is at max_steps or beyond, which it is then finished from."""
    summary = read_json_object(output_dir / run_files.SUMMARY_FILE, invalid="none")
    if summary is not None and isinstance(summary.get("steps"), int) and summary["steps"] >= max_steps:
        plan.finished = True
        plan.notes.append(
            f"{output_dir} is finished ({summary['steps']} of {max_steps} steps): nothing to resume; "
            "raise training.max_steps to train it further"
        )
        return True
    checkpoint = run_files.latest_checkpoint(output_dir)
    step = run_files.checkpoint_step(checkpoint) if checkpoint is not None else None
    if step != max_steps:  # short of it: train on; beyond it (max_steps lowered): refused by the caller
        return False
    plan.finished, plan.rebuild_from = True, checkpoint
    state = "missing" if not (output_dir / run_files.SUMMARY_FILE).exists() else "unreadable"
    plan.notes.append(
        f"{output_dir} trained to step {step} but its {run_files.SUMMARY_FILE} is {state} (it stopped while "
        f"finishing): {run_files.FINAL_DIR}/ and {run_files.SUMMARY_FILE} are rebuilt from {checkpoint.name}; "
        "nothing to train"
    )
    return True


def check_world_size(checkpoint: Path | None, world_size: int) -> None:
    """A resume runs as many processes as the checkpoint was trained with: each process generates its own
    share of a step, so another count changes the samples per step (the experiment)."""
    if checkpoint is None:
        return
    state = read_json_object(checkpoint / run_files.CHECKPOINT_STATE_FILE, invalid="none") or {}
    recorded = state.get("world_size")
    if isinstance(recorded, int) and recorded != world_size:
        raise GnivoError(
            f"--resume: {checkpoint.name} was trained by {_processes(recorded)} and this resume runs "
            f"{_processes(world_size)}, which changes the samples per step; resume with --num-processes {recorded} "
            "(or start a new run with another --output-dir)"
        )


def _processes(count: int) -> str:
    return f"{count} process" + ("" if count == 1 else "es")


def _note_missing_metrics(plan: StartPlan, output_dir: Path) -> None:
    """metrics.jsonl should hold every step up to the checkpoint; say so (and record it) where it does not."""
    logged = {row.get("step") for row in run_files.read_metrics(output_dir)}
    missing = [step for step in range(1, plan.start_step + 1) if step not in logged]
    if missing:
        plan.findings["metrics_missing_steps"] = len(missing)
        plan.notes.append(
            f"{run_files.METRICS_FILE} lacks the rows of {len(missing)} of the {plan.start_step} steps already "
            f"trained (emptied or edited?); its history resumes at step {plan.start_step + 1} and "
            f"{run_files.RESUMES_FILE} records the gap"
        )


def _plan_fresh(output_dir: Path, world_size: int = 1) -> StartPlan:
    if not output_dir.exists():
        return StartPlan(world_size=world_size)
    check_output_dir(output_dir, "training.output_dir")  # also for library callers, who skip the CLI's check
    entries = [p for p in output_dir.iterdir() if p.name != LOCK_FILE]
    if not entries:
        return StartPlan(world_size=world_size)
    if never_trained(output_dir):
        # A start stopped before its first step left only its recipe: a retry may take the folder.
        note = f"{output_dir} holds a run that never trained a step: starting it anew"
        return StartPlan(removed=entries, notes=[note], world_size=world_size)
    if {p.name for p in entries} == {run_files.RECIPE_FILE}:
        raise GnivoError(
            f"output directory {output_dir} holds {output_dir / run_files.RECIPE_FILE}, which is not a recipe "
            "gnivo wrote (your own?); gnivo never overwrites it: choose another --output-dir"
        )
    raise GnivoError(
        f"output directory {output_dir} is not empty: pass --resume to continue that run, "
        "or choose another with --output-dir"
    )


def never_trained(output_dir: Path) -> bool:
    """Only what a start stopped before its first step leaves: gnivo's own recipe.yaml, exactly as it wrote it,
    no metrics row, the lock; no checkpoint, no summary, nothing foreign (the held-out evaluation of the initial
    policy and a tracker's first files come before the first step)."""
    expected = {
        *run_files.STEP_FILES,
        run_files.RECIPE_FILE,
        run_files.PROMPTS_FILE,
        run_files.EVAL_DIR,
        run_files.TENSORBOARD_DIR,
    }
    names = {p.name for p in output_dir.iterdir()} - {LOCK_FILE}
    if not names <= expected:
        return False
    if run_files.RECIPE_FILE in names and run_files.recipe_origin(output_dir) != "gnivo":
        return False
    return not run_files.read_metrics(output_dir)


def apply_plan(plan: StartPlan, output_dir: Path) -> None:
    """Clear what the plan removes and cut the rows a resumed run will log again."""
    for path in plan.removed:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    if plan.resumed:
        truncate_step_files(output_dir, plan.start_step)


def truncate_step_files(output_dir: Path, step: int) -> None:
    """Keep the rows of metrics.jsonl, eval.jsonl and completions.jsonl up to `step` (a torn last line goes
    too), and the held-out evaluations' folders up to it: the steps after it are trained, logged and
    evaluated again."""
    for name in run_files.STEP_FILES:
        path = output_dir / name
        if path.exists():
            kept = [row for row in run_files.read_rows(path) if int(row.get("step", 0)) <= step]
            write_text_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept))
    evaluations = output_dir / run_files.EVAL_DIR
    if evaluations.is_dir():
        for folder in evaluations.iterdir():
            done_at = run_files.eval_step(folder)
            if done_at is not None and done_at > step:
                shutil.rmtree(folder)


def record_resume(plan: StartPlan, output_dir: Path) -> None:
    """Append this resume, and what it changed, to resumes.jsonl."""
    row = {
        "time": time.time(),
        "from_step": plan.start_step,
        "world_size": plan.world_size,
        "changes": {key: {"from": old, "to": new} for key, (old, new) in plan.changes.items()},
        **plan.findings,
    }
    with (output_dir / run_files.RESUMES_FILE).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else repr(value)
