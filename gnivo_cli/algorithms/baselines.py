"""trl's trainers with time and sample accounting, for the metrics every algorithm writes.

`RolloutAccountingMixin` only measures (no loss reads what it records), and lets a stop request end a long
generation early (`gnivo_stop`, set by `gnivo_cli.training.train`): the step is then dropped
(`GenerationAbandoned`), and the run saves the checkpoint of the step before it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
        self.gnivo_stop: Any = None  # a StopRequest: a stop request ends generation at the next token
        self.generation_cut_short = False

    def _generate_single_turn(self, *args, **kwargs):
        stop = self.gnivo_stop
        # vLLM generates a batch in one call, and several processes meet in collectives right after
        # generating: there the stop waits for the step's end.
        if stop is None or self.use_vllm or self.accelerator.num_processes > 1:
            return super()._generate_single_turn(*args, **kwargs)

        def requested() -> bool:
            if stop.requested:
                self.generation_cut_short = True
            return stop.requested

        with stops_when(self.accelerator.unwrap_model(self.model_wrapped), requested):
            generated = super()._generate_single_turn(*args, **kwargs)
        if self.generation_cut_short:  # completions cut short are not samples: the step is dropped, not trained
            raise GenerationAbandoned(self.state.global_step + 1)
        return generated

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
        return timing_breakdown(self.timings)


def timing_breakdown(timings: dict[str, float]) -> dict[str, float]:
    """Seconds per phase from the accounting's running totals; `eval` (held-out evaluation) only where the run
    evaluates."""
    rollout, scoring, total = (timings.get(key, 0.0) for key in ("rollout", "scoring", "total"))
    phases = {"generation": rollout - scoring, "scoring": scoring, "loss_backward": max(total - rollout, 0.0)}
    if "eval" in timings:
        phases["eval"] = timings["eval"]
    return phases


class GenerationAbandoned(Exception):
    """A stop request ended generation early: the step being generated is dropped, nothing of it trained."""

    def __init__(self, step: int):
        super().__init__(f"generation of step {step} stopped")
        self.step = step


@contextmanager
def stops_when(model: Any, requested: Callable[[], bool]) -> Iterator[None]:
    """While inside, `model.generate` also stops (every row, at the next token) once `requested()` is true."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Requested(StoppingCriteria):
        def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
            return torch.full((input_ids.shape[0],), requested(), dtype=torch.bool, device=input_ids.device)

    original = model.generate

    def generate(*args: Any, **kwargs: Any) -> Any:
        criteria = StoppingCriteriaList(kwargs.pop("stopping_criteria", None) or [])
        criteria.append(Requested())
        return original(*args, stopping_criteria=criteria, **kwargs)

    model.generate = generate
    try:
        yield
    finally:
        del model.generate  # the class's method again


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
