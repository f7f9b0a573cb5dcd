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
from gnivo_cli.files.paths import check_output_dir
from gnivo_cli.recipe.loader import recorded_recipe
from gnivo_cli.training import run_files

#: Recipe keys a resume may change; everything else defines the experiment.
SAFE_ON_RESUME = ("training.max_steps", "training.save_steps", "training.log_completions", "training.output_dir")


@dataclass
class StartPlan:
    """Where training starts. `checkpoint` None means step 0."""

    checkpoint: Path | None = None
    resumed: bool = False
    finished: bool = False  # the run is already complete: nothing to train
    notes: list[str] = field(default_factory=list)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    removed: list[Path] = field(default_factory=list)

    @property
    def start_step(self) -> int:
        return 0 if self.checkpoint is None else run_files.checkpoint_step(self.checkpoint) or 0


def plan_start(recipe: Any, output_dir: Path, resume: bool) -> StartPlan:
    """Check the output dir against the recipe; refuse anything that would lose or misrecord work."""
    if not resume:
        return _plan_fresh(output_dir)
    if not output_dir.is_dir():
        raise GnivoError(f"--resume: {output_dir} does not exist; drop --resume to start a new run")
    stored = recorded_recipe(output_dir, why="cannot check the resumed recipe against it")
    if stored is None:
        raise GnivoError(f"--resume: {output_dir} holds no gnivo run (no {run_files.RECIPE_FILE}); drop --resume")
    plan = StartPlan(resumed=True, changes=leaf_changes(stored, recipe.to_dict()))
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
    summary = run_files.read_json(output_dir / run_files.SUMMARY_FILE)
    max_steps = recipe.training.max_steps
    if summary is not None and int(summary.get("steps", 0)) >= max_steps:
        plan.finished = True
        plan.notes.append(
            f"{output_dir} is finished ({summary.get('steps')} of {max_steps} steps): nothing to resume; "
            "raise training.max_steps to train it further"
        )
        return plan
    plan.checkpoint = run_files.latest_checkpoint(output_dir)
    if plan.start_step > max_steps:
        raise GnivoError(
            f"--resume: training.max_steps ({max_steps}) is below step {plan.start_step}, which {output_dir} has "
            "already reached"
        )
    plan.removed = [
        p for p in run_files.incomplete_checkpoints(output_dir) if run_files.checkpoint_step(p) > plan.start_step
    ]
    for path in plan.removed:
        plan.notes.append(f"{path.name} was not completely written (the run stopped while saving it): removed")
    if plan.checkpoint is None:
        plan.notes.append(f"{output_dir} has no complete checkpoint yet: training starts again from step 0")
    else:
        plan.notes.append(f"resuming from {plan.checkpoint.name}")
        passes = recipe.algorithm.num_iterations
        if plan.start_step % passes:  # the final checkpoint of a run whose max_steps was not a multiple
            plan.notes.append(
                f"step {plan.start_step} falls inside the {passes} passes over one generated batch "
                "(algorithm.num_iterations), and the batch is not saved: training goes on with a new batch"
            )
    return plan


def _plan_fresh(output_dir: Path) -> StartPlan:
    if not output_dir.exists():
        return StartPlan()
    check_output_dir(output_dir, "training.output_dir")  # also for library callers, who skip the CLI's check
    entries = list(output_dir.iterdir())
    if not entries:
        return StartPlan()
    if never_trained(output_dir):
        # A start that failed before its first step left only its recipe: a retry may take the folder.
        note = f"{output_dir} holds a run that never trained a step: starting it anew"
        return StartPlan(removed=entries, notes=[note])
    raise GnivoError(
        f"output directory {output_dir} is not empty: pass --resume to continue that run, "
        "or choose another with --output-dir"
    )


def never_trained(output_dir: Path) -> bool:
    """Only files a failed start writes: no metrics row, no checkpoint, no summary, nothing foreign."""
    expected = {run_files.RECIPE_FILE, run_files.PROMPTS_FILE, run_files.METRICS_FILE}
    names = {p.name for p in output_dir.iterdir()}
    return names <= expected and not run_files.read_metrics(output_dir)


def apply_plan(plan: StartPlan, output_dir: Path) -> None:
    """Clear what the plan removes and cut metrics rows a resumed run will log again."""
    for path in plan.removed:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    if plan.resumed:
        truncate_metrics(output_dir, plan.start_step)


def truncate_metrics(output_dir: Path, step: int) -> None:
    """Keep rows up to `step` (a torn last line goes too): the steps after it will be logged again."""
    path = output_dir / run_files.METRICS_FILE
    if not path.exists():
        return
    kept = [row for row in run_files.read_metrics(output_dir) if int(row.get("step", 0)) <= step]
    write_text_atomic(path, "".join(json.dumps(row) + "\n" for row in kept))


def record_resume(plan: StartPlan, output_dir: Path) -> None:
    """Append this resume, and what it changed, to resumes.jsonl."""
    row = {
        "time": time.time(),
        "from_step": plan.start_step,
        "changes": {key: {"from": old, "to": new} for key, (old, new) in plan.changes.items()},
    }
    with (output_dir / run_files.RESUMES_FILE).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else repr(value)
