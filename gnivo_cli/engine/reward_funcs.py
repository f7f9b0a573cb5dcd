"""Adapt gnivo reward plugins to trl's reward-function calling convention."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from rewards.base import Reward

# Keyword arguments trl passes to reward functions that are not dataset columns.
_TRL_KWARGS = {"completion_ids", "trainer_state", "log_extra", "log_metric", "environments"}


def message_text(value: Any) -> str:
    """The text of a plain or conversational prompt/completion (trl passes lists of messages)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(message_text(m.get("content", "")) if isinstance(m, dict) else message_text(m) for m in value)
    if isinstance(value, dict):
        return message_text(value.get("content", ""))
    return "" if value is None else str(value)


class TrlRewardFunction:
    """A callable trl accepts as a reward function, wrapping one gnivo `Reward`.

    It keeps time spent and the plugin's own counters (timeouts, unparsable answers) for the metrics.
    """

    def __init__(self, reward: Reward):
        self.reward = reward
        self.__name__ = reward.name  # trl names the reward's metrics after it
        self.seconds = 0.0
        self.counters: dict[str, float] = defaultdict(float)

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        started = time.perf_counter()
        columns = {k: v for k, v in kwargs.items() if k not in _TRL_KWARGS}
        scores = self.reward([message_text(p) for p in prompts], [message_text(c) for c in completions], **columns)
        if len(scores) != len(completions):
            raise RuntimeError(f"reward {self.reward.name!r} returned {len(scores)} scores for {len(completions)}")
        for key, value in self.reward.metrics().items():
            self.counters[key] += value
        self.seconds += time.perf_counter() - started
        return [None if s is None else float(s) for s in scores]
