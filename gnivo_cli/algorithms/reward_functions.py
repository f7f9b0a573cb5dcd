"""Adapt gnivo reward plugins to trl's reward-function calling convention.

Prompts and completions reach the plugin exactly as trl holds them (chat messages for gnivo's
conversational data), as `rewards.base` defines; outputs are checked by `rewards.base.check_scores`,
the same check `gnivo score` and `gnivo eval` apply.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from gnivo_cli.errors import GnivoError
from rewards.base import Reward, RewardOutputError, as_text
from rewards.calling import OnError, RewardCallError, RewardExited, call_reward

# Keyword arguments trl passes to reward functions that are not dataset columns.
_TRL_KWARGS = {"completion_ids", "trainer_state", "log_extra", "log_metric", "environments"}
#: Reward batches in a row where every reward returns None for every completion before training stops.
MAX_ALL_NONE_BATCHES = 3


class AllNoneGuard:
    """Counts reward batches in a row where no reward applied to any completion, shared by a run's rewards."""

    def __init__(self, names: Sequence[str], limit: int = MAX_ALL_NONE_BATCHES):
        self.names, self.limit = list(names), limit
        self.in_a_row = 0
        self._applied: dict[int, bool] = {}

    def record(self, key: int, scores: list[float | None], step: int) -> None:
        self._applied[key] = any(s is not None for s in scores)
        if len(self._applied) < len(self.names):
            return  # the other rewards of this batch come next
        applied, self._applied = any(self._applied.values()), {}
        self.in_a_row = 0 if applied else self.in_a_row + 1
        if self.in_a_row >= self.limit:
            raise GnivoError(
                f"step {step}: every reward ({', '.join(self.names)}) returned None for every completion in "
                f"{self.in_a_row} batches in a row, so nothing can be learned; check the reward's columns and "
                "params against the data (`gnivo score` shows what a reward returns for a file)"
            )


class TrlRewardFunction:
    """A callable trl accepts as a reward function, wrapping one gnivo `Reward`.

    It keeps time spent, the completions it scored (`samples_scored`) and the plugin's own counters
    (timeouts, unparsable answers), all cumulative, for the metrics; with ``on_error="skip"`` also the
    count of samples whose scoring raised (`errors_skipped`). Under several processes each scores its
    share of a batch; `share_counts` then adds the others' counts, so every process holds the run's.
    """

    def __init__(self, reward: Reward, *, on_error: OnError = "raise", guard: AllNoneGuard | None = None):
        self.reward = reward
        self.on_error = on_error
        self.guard = guard
        self.__name__ = reward.name  # trl names the reward's metrics after it
        self.seconds = 0.0
        self.samples_scored = 0
        self.counters: dict[str, float] = defaultdict(float)
        # This process's counts since the last `share_counts`: (samples, counters).
        self._unshared: tuple[int, dict[str, float]] = (0, defaultdict(float))

    def take_unshared(self) -> tuple[int, dict[str, float]]:
        """(samples, counters) this process counted since the last call, for `share_counts`."""
        (samples, counters), self._unshared = self._unshared, (0, defaultdict(float))
        return samples, dict(counters)

    def add_counts(self, samples: int, counters: dict[str, float]) -> None:
        self.samples_scored += samples
        _add(self.counters, counters)

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        started = time.perf_counter()
        state = kwargs.get("trainer_state")
        step = getattr(state, "global_step", 0) + 1  # the step being trained
        columns = {k: v for k, v in kwargs.items() if k not in _TRL_KWARGS}
        try:
            assessed, skipped = call_reward(
                self.reward, list(prompts), list(completions), columns, on_error=self.on_error, precision="float32"
            )
        except RewardCallError as error:
            raise GnivoError(
                f"step {step}: {error}{_sample(prompts, error.index)}; rewards[].on_error: skip turns a raising "
                "sample into None, and --resume continues from the last checkpoint (--debug shows the traceback)"
            ) from error
        except RewardOutputError as error:
            raise GnivoError(f"step {step}: {error}{_sample(prompts, error.index)}") from error
        except RewardExited as error:
            raise GnivoError(f"step {step}: {error}") from None
        scores = [assessment.score for assessment in assessed]
        counts = dict(self.reward.metrics())
        if skipped:
            counts["errors_skipped"] = float(skipped)
        self.add_counts(len(scores), counts)
        samples, unshared = self._unshared
        _add(unshared, counts)
        self._unshared = (samples + len(scores), unshared)
        self.seconds += time.perf_counter() - started
        if self.guard is not None:
            self.guard.record(id(self), scores, step)
        return scores


def share_counts(functions: Sequence[TrlRewardFunction], gather_object: Any, rank: int) -> None:
    """Add to each function the counts the other processes made since the last share.

    A collective: every process calls it at the same point of each batch. `gather_object` is
    accelerate's (a list in, every process's lists joined in rank order out).
    """
    mine = [function.take_unshared() for function in functions]
    everyone = gather_object([mine])
    for process, counts in enumerate(everyone):
        if process != rank:
            for function, (samples, counters) in zip(functions, counts, strict=True):
                function.add_counts(samples, counters)


def _add(total: dict[str, float], counts: dict[str, float]) -> None:
    for key, value in counts.items():
        total[key] += value


def _sample(prompts: list[Any], index: int | None) -> str:
    if index is None:
        return " (for the whole batch; no single sample raises on its own)"
    text = " ".join(as_text(prompts[index]).split())
    return f" (sample {index} of the batch, prompt {text[:60] + '...' if len(text) > 60 else text!r})"


def reward_keys(names: Sequence[str]) -> list[str]:
    """The key each `rewards[]` entry's metrics, counters and checkpoint state go under: its name, and
    ``name#2``, ``name#3`` for later entries of a name already used (two `reward-model` entries). Distinct
    names stay as they are, so runs recorded before read the same."""
    keys: list[str] = []
    for name in names:
        key, number = name, 1
        while key in keys or (number > 1 and key in names):
            number += 1
            key = f"{name}#{number}"
        keys.append(key)
    return keys


def build_reward_functions(specs: Sequence[Any]) -> list[TrlRewardFunction]:
    """One trl reward function per recipe `rewards[]` entry, each under its own key (`reward_keys`),
    sharing one all-None guard."""
    from rewards.registry import load_reward

    keys = reward_keys([spec.name for spec in specs])
    guard = AllNoneGuard(keys)
    return [
        TrlRewardFunction(load_reward(spec.name, spec.params, key=key), on_error=spec.on_error, guard=guard)
        for spec, key in zip(specs, keys, strict=True)
    ]


def check_reward_columns(recipe: Any, reward_functions: list[Any], columns: list[str]) -> None:
    """Each reward's `required_columns` are columns of the data: a `RecipeError` naming the reward's entry
    and the columns there are, before the model loads, instead of a failure at step 1."""
    from gnivo_cli.recipe.loader import recipe_error_at
    from rewards.calling import missing_columns

    for index, function in enumerate(reward_functions):
        missing = missing_columns(function.reward, columns)
        if missing:
            name = recipe.rewards[index].name
            raise recipe_error_at(
                recipe,
                f"rewards.{index}",
                f"reward {name!r} needs the column {missing[0]!r}, which data.source {recipe.data.source!r} "
                f"lacks (columns: {', '.join(sorted(columns))}); `gnivo rewards show {name}` lists its params",
            )
