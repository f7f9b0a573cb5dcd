"""Held-out evaluation during training (`training.eval`): `gnivo eval`'s own code on the current policy.

Every `every` optimizer steps, after the last step, and before the first (`at_start`), the policy in memory
is evaluated with the benchmark's settings (no second model load): its samples go to RUN/eval/step-N/ as
`gnivo eval` writes them, one row per evaluation to RUN/eval.jsonl, and its scores to the trackers as
`eval/<benchmark>/pass@k`. The evaluation runs at the end of a step, before that step's checkpoint is saved:
a run resumed from checkpoint-N has the evaluations up to step N and makes the later ones, neither
repeating nor skipping one.

Training must not notice it: generation runs in eval mode and the model's mode is put back, and every
global random stream (Python, NumPy, torch CPU and CUDA) is restored afterwards, so a run with held-out
evaluation trains the same weights as one without. Sampling draws from per-sample generators of its own
(`gnivo_cli.evaluation.hf_backend`).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from gnivo_cli.training import run_files

#: results.json values that go to eval.jsonl and the trackers beside pass@k and avg@N.
_REPORTED = ("no_answer_rate", "truncated_rate", "mean_tokens_per_sample")


class HeldOutEval(TrainerCallback):
    """Runs the held-out evaluation at its steps; its scores join the step's logs for the trackers."""

    def __init__(self, trainer: Any, recipe: Any, output_dir: Path):
        self.trainer = trainer
        self.recipe = recipe
        self.section = recipe.training.eval
        self.output_dir = Path(output_dir)
        self.pending: dict[str, float] = {}  # scores waiting for the step's logs
        self.last: dict[str, Any] | None = None  # the latest eval.jsonl row
        self.listeners: list[Callable[[str], None]] = []  # told "evaluating" / the latest score
        self._begun = False

    @property
    def headline(self) -> str:
        """The first score the settings ask for (pass@k with the smallest k), shown on the progress line."""
        return f"pass@{min(self.section.pass_at)}"

    def on_train_begin(self, args, state, control, **kwargs):
        rows = run_files.read_rows(self.output_dir / run_files.EVAL_FILE)
        self.last = rows[-1] if rows else None
        if self.last is not None:
            self._tell(self.last)

    def on_step_begin(self, args, state, control, **kwargs):
        if self._begun:
            return
        self._begun = True
        if state.global_step == 0 and self.section.at_start and not self._done_at(0):
            self._evaluate(0)
            # The trackers are set up by now: the initial policy's scores are logged at step 0.
            self.trainer.callback_handler.on_log(args, state, control, logs=self.pending)
            self.pending = {}

    def on_step_end(self, args, state, control, **kwargs):
        step = state.global_step
        if step % self.section.every == 0 or step >= state.max_steps:
            self._evaluate(step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.pending and logs is not None and "train_runtime" not in logs:
            logs.update(self.pending)
            self.pending = {}

    def _done_at(self, step: int) -> bool:
        """Whether eval.jsonl has the evaluation of `step`, as the main process reads it (all processes agree)."""
        from accelerate.utils import broadcast_object_list

        rows = run_files.read_rows(self.output_dir / run_files.EVAL_FILE)
        found = [any(int(row.get("step", -1)) == step for row in rows)]
        if self.trainer.accelerator.num_processes > 1:
            broadcast_object_list(found)
        return bool(found[0])

    def _evaluate(self, step: int) -> None:
        from trl.models.utils import unwrap_model_for_generation

        from gnivo_cli.evaluation.during_training import held_out_settings
        from gnivo_cli.evaluation.generation import LoadedModel
        from gnivo_cli.evaluation.runner import run_evaluation

        trainer = self.trainer
        identity = f"{self.output_dir}@step-{step}"
        settings = held_out_settings(self.recipe, identity)
        for listener in self.listeners:
            listener(f"evaluating {settings.bench} ...")
        started = time.perf_counter()
        with (
            preserved_random_state(),
            unwrap_model_for_generation(
                trainer.model_wrapped,
                trainer.accelerator,
                gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
                gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
            ) as model,
        ):
            loaded = LoadedModel(model, trainer.processing_class, identity)
            result = run_evaluation(settings, output_dir=run_files.eval_dir(self.output_dir, step), loaded=loaded)
        seconds = time.perf_counter() - started
        trainer.timings["eval"] += seconds
        row = eval_row(step, result.results, seconds)
        if trainer.accelerator.is_main_process:
            with (self.output_dir / run_files.EVAL_FILE).open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
        self.pending = tracker_values(row)
        self.last = row
        self._tell(row)

    def _tell(self, row: dict[str, Any]) -> None:
        value = row.get(self.headline)
        text = f"held-out {self.headline} {value:.3f}" if isinstance(value, int | float) else ""
        for listener in self.listeners:
            listener(text)


def eval_row(step: int, results: dict[str, Any], seconds: float) -> dict[str, Any]:
    """eval.jsonl's row for one evaluation: when, on what, its scores and its cost."""
    scores = {key: value for key, value in results.items() if key.startswith(("pass@", "avg@"))}
    return {
        "step": step,
        "benchmark": results["benchmark"],
        **scores,
        **{key: results[key] for key in _REPORTED if key in results},
        "num_problems": results["num_problems"],
        "samples_per_problem": results["samples_per_problem"],
        "seconds": round(seconds, 3),
        "time": time.time(),
    }


def tracker_values(row: dict[str, Any]) -> dict[str, float]:
    """An eval.jsonl row as tracker values: `eval_<benchmark>/<score>`, which transformers logs as
    `eval/<benchmark>/<score>`."""
    skip = {"step", "benchmark", "time", "num_problems", "samples_per_problem"}
    return {f"eval_{row['benchmark']}/{key}": value for key, value in row.items() if key not in skip}


@contextmanager
def preserved_random_state() -> Iterator[None]:
    """Put every global random stream back as it was: Python's, NumPy's, torch's on the CPU and on CUDA."""
    import numpy as np
    import torch

    python_state, numpy_state = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
