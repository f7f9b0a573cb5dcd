"""Trainer callbacks: metrics.jsonl (one row per optimizer step) and a rich progress display."""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from gnivo_cli.training.run_files import METRICS_FILE

#: metrics.jsonl column (and summary.json's `final_` key): the share of the step's answers that were boxed
#: and correct, from the `boxed_correct` counter of the rewards that report one (the `math` reward does).
BOXED_CORRECT_SHARE = "boxed_correct_share"

# trl's names -> the columns every algorithm writes.
_RENAMES = {"frac_reward_zero_std": "frac_uniform_groups"}
_SKIP = {"epoch", "total_flos", "train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss"}
#: metrics.jsonl columns that hold wall-clock readings: two runs of the same experiment differ only there.
WALL_CLOCK_COLUMNS = frozenset(
    {
        "time",
        "step_time",
        "tokens_per_second",
        "peak_memory_mb",
        "generation_time",
        "scoring_time",
        "loss_backward_time",
    }
)


def peak_memory_mb() -> float:
    """Peak memory of this process: GPU memory allocated on CUDA, else the resident set size."""
    import torch

    if torch.cuda.is_available() and torch.cuda.max_memory_allocated() > 0:
        return torch.cuda.max_memory_allocated() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


class StepCounters:
    """What each reward counted during one step: the change of its cumulative counters since the last take.

    `take` returns ``{"<reward>/<counter>": count this step}``, plus the step's
    `BOXED_CORRECT_SHARE` (boxed_correct over the completions those rewards scored) when a reward reports
    `boxed_correct`. Under several processes the counters are the whole batch's (`share_counts`).
    """

    def __init__(self, reward_functions: list[Any]):
        self.functions = list(reward_functions)
        self._last = [self._snapshot(function) for function in self.functions]

    @staticmethod
    def _snapshot(function: Any) -> tuple[int, dict[str, float]]:
        return int(getattr(function, "samples_scored", 0)), dict(getattr(function, "counters", {}))

    def take(self) -> dict[str, float | None]:
        values: dict[str, float | None] = {}
        boxed_correct, scored, reported = 0.0, 0, False
        for index, function in enumerate(self.functions):
            (scored_before, before), now = self._last[index], self._snapshot(function)
            self._last[index] = now
            for key, value in now[1].items():
                values[f"{function.__name__}/{key}"] = value - before.get(key, 0.0)
            if "boxed_correct" in now[1]:
                reported = True
                boxed_correct += now[1]["boxed_correct"] - before.get("boxed_correct", 0.0)
                scored += now[0] - scored_before
        if reported:  # None on a step that generated nothing (several iterations over one batch)
            values[BOXED_CORRECT_SHARE] = boxed_correct / scored if scored else None
        return values


class MetricsWriter(TrainerCallback):
    """Appends one JSON object per optimizer step to OUTPUT_DIR/metrics.jsonl (main process only).

    It also adds its own columns (reward counters, the boxed-and-correct share, samples, phase times) to the
    step's logs, so the experiment trackers, which come after it, log them on the same step.
    """

    def __init__(self, output_dir: str | Path, accounting: Any = None, reward_functions: list[Any] | None = None):
        self.path = Path(output_dir) / METRICS_FILE
        self.accounting = accounting  # the trainer: samples/tokens generated so far, time per phase
        self.reward_functions = list(reward_functions or [])
        self.step_counters = StepCounters(self.reward_functions)
        self._last_tokens = 0
        self._last_phases: dict[str, float] = {}
        self.last_row: dict[str, Any] = {}

    def on_train_begin(self, args, state, control, **kwargs):
        if self.accounting is not None:
            self._last_tokens = self.accounting.tokens_generated
            self._last_phases = self.accounting.timing_breakdown()
        self.step_counters = StepCounters(self.reward_functions)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "train_runtime" in logs or state.global_step == 0 or not state.is_world_process_zero:
            return
        row: dict[str, Any] = {"step": state.global_step}
        for key, value in logs.items():
            if key in _SKIP or key.startswith("eval_") or not isinstance(value, int | float) or isinstance(value, bool):
                continue
            row[_RENAMES.get(key, key)] = None if isinstance(value, float) and not math.isfinite(value) else value
        row.setdefault("kl", None)  # no reference model (beta = 0): nothing to measure against
        row.update(self.step_counters.take())
        if self.accounting is not None:
            tokens = self.accounting.tokens_generated - self._last_tokens
            step_time = row.get("step_time") or 0.0
            row["num_samples"] = self.accounting.samples_generated
            row["tokens_per_second"] = tokens / step_time if step_time else None
            self._last_tokens = self.accounting.tokens_generated
            row.update(self._phase_times())
        row["peak_memory_mb"] = round(peak_memory_mb(), 1)
        row["time"] = time.time()
        self.last_row = row
        with self.path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        _share_with_trackers(logs, row)

    def _phase_times(self) -> dict[str, float]:
        """Seconds this step spent in each phase of training (held-out evaluations keep theirs in eval.jsonl)."""
        now = self.accounting.timing_breakdown()
        spent = {
            f"{phase}_time": round(now[phase] - self._last_phases.get(phase, 0.0), 4)
            for phase in now
            if phase != "eval"
        }
        self._last_phases = now
        return spent


def _share_with_trackers(logs: dict[str, Any], row: dict[str, Any]) -> None:
    """Add the row's own columns to the step's logs, for the trackers after this callback; drop the None values
    they cannot plot (each would print a warning)."""
    renamed = {_RENAMES.get(key, key) for key in logs}
    for key, value in row.items():
        if key not in renamed and key not in ("step", "time") and value is not None:
            logs[key] = value
    for key in [key for key, value in logs.items() if value is None]:
        del logs[key]


class RichProgress(TrainerCallback):
    """Step, reward, loss, KL, tokens per second, the boxed-and-correct share (when a reward counts it) and
    time left, on one live line."""

    def __init__(self, console, metrics: MetricsWriter, description: str = "training"):
        self.console = console
        self.metrics = metrics
        self.description = description
        self.progress = None
        self.task = None
        self._held_out = ""

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("reward [cyan]{task.fields[reward]}[/]"),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("kl {task.fields[kl]}"),
            TextColumn("{task.fields[tps]} tok/s"),
            TextColumn("{task.fields[share]}"),
            TextColumn("[magenta]{task.fields[held_out]}[/]"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            self.description,
            total=state.max_steps,
            completed=state.global_step,
            reward="-",
            loss="-",
            kl="-",
            tps="-",
            share="",
            held_out=self._held_out,
        )

    def show_held_out(self, text: str) -> None:
        """The held-out evaluation's latest score, or that it is running (`HeldOutEval.listeners`)."""
        self._held_out = text
        if self.progress is not None:
            self.progress.update(self.task, held_out=text)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.progress is None or not logs or "train_runtime" in logs:
            return
        row = self.metrics.last_row  # written just before: MetricsWriter runs first
        fields = {key: _fmt(row.get(key)) for key in ("reward", "loss", "kl")}
        fields["tps"] = _fmt(row.get("tokens_per_second"), 0)
        if row.get(BOXED_CORRECT_SHARE) is not None:  # a step that sampled nothing keeps the last value
            fields["share"] = f"boxed+correct [green]{_fmt(row[BOXED_CORRECT_SHARE], 2)}[/]"
        self.progress.update(self.task, completed=state.global_step, **fields)

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        self.close()

    def close(self) -> None:
        """Stop the live display (and show the cursor again); also called when training fails."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"
