"""trl's trainers with time and sample accounting, for the metrics every algorithm writes.

`RolloutAccountingMixin` only measures: no loss reads what it records.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from trl import GRPOTrainer, RLOOTrainer


class RolloutAccountingMixin:
    """Time spent generating, scoring and training, and samples/tokens generated (for metrics).

    `rollout_hooks` are called with (trainer, this process's input rows) after each generated batch is
    scored, on every process (they may gather): completions.jsonl is written by one.
    """

    def _init_accounting(self) -> None:
        self.timings: dict[str, float] = defaultdict(float)
        self.samples_generated = 0
        self.tokens_generated = 0
        self.rollout_hooks: list[Callable[[Any, list[dict[str, Any]]], None]] = []

    def _generate_and_score_completions(self, inputs):
        started = time.perf_counter()
        output = super()._generate_and_score_completions(inputs)
        self.timings["rollout"] += time.perf_counter() - started
        # Counted over all processes (each holds its share of the batch): a run's budget, however launched.
        mask = output["completion_mask"]
        self.samples_generated += int(mask.shape[0]) * self.accelerator.num_processes
        self.tokens_generated += int(self.accelerator.gather(mask.sum().reshape(1)).sum().item())
        for hook in self.rollout_hooks:
            hook(self, inputs)
        return output

    def create_model_card(self, *args: Any, **kwargs: Any) -> None:
        """trl's generic card (base model None for a local model) is not written: gnivo writes its own into
        final/ (`gnivo_cli.training.model_card`)."""

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        started = time.perf_counter()
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        if self.accelerator.num_processes > 1:  # counters and the boxed share count the whole batch
            from accelerate.utils import gather_object

            from gnivo_cli.algorithms.reward_functions import share_counts

            functions = getattr(self, "gnivo_reward_functions", [])  # as the checkpoint and summary read them
            share_counts(functions, gather_object, self.accelerator.process_index)
        self.timings["scoring"] += time.perf_counter() - started
        return rewards_per_func

    def training_step(self, model, inputs, num_items_in_batch):
        started = time.perf_counter()
        output = super().training_step(model, inputs, num_items_in_batch)
        self.timings["total"] += time.perf_counter() - started
        return output

    def timing_breakdown(self) -> dict[str, float]:
        """Seconds so far per phase; `eval` (held-out evaluation) only where the run evaluates."""
        rollout, scoring, total = self.timings["rollout"], self.timings["scoring"], self.timings["total"]
        phases = {"generation": rollout - scoring, "scoring": scoring, "loss_backward": max(total - rollout, 0.0)}
        if "eval" in self.timings:
            phases["eval"] = self.timings["eval"]
        return phases


class TimedGRPOTrainer(RolloutAccountingMixin, GRPOTrainer):
    """trl's GRPOTrainer, unchanged but for time and sample accounting (grpo and dr-grpo)."""

    def __init__(self, *args, **kwargs):
        self._init_accounting()
        super().__init__(*args, **kwargs)


class TimedRLOOTrainer(RolloutAccountingMixin, RLOOTrainer):
    """trl's RLOOTrainer, unchanged but for time and sample accounting."""

    def __init__(self, *args, **kwargs):
        self._init_accounting()
        super().__init__(*args, **kwargs)
