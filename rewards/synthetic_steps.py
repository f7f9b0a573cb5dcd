"""The `steps` reward: the exact credit-assignment task of `synthetic:steps` (gnivo_cli/data/synthetic_steps.py).

0 unless the first reasoning step equals the prompt's key; then (1 + the later steps that repeat the
first step) / the number of steps. A malformed completion (wrong number of steps, stray text) scores 0.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gnivo_cli.data.synthetic_steps import parse_steps, step_reward
from rewards.base import Reward, RewardConfigError, RewardParams, as_text


class StepsReward(Reward):
    """Scores `synthetic:steps` completions from the dataset's `key` and `steps` columns."""

    description = "synthetic:steps credit-assignment task: the first step must match the key, later ones repeat it."
    required_columns = ("key", "steps")
    graded_columns = ("key",)  # the first step to find (`steps` is the task's length, not an answer)

    @dataclasses.dataclass(frozen=True)
    class Params(RewardParams):
        pass

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: list[Any]) -> list[float | None]:
        missing = [name for name in self.required_columns if name not in columns]
        if missing:
            present = ", ".join(sorted(columns)) or "none"
            raise RewardConfigError(
                f"reward {self.name!r} needs the dataset columns {', '.join(missing)} "
                f"(data.source: synthetic:steps); columns present: {present}"
            )
        return [
            step_reward(parse_steps(as_text(completion), int(steps)), key)
            for completion, key, steps in zip(completions, columns["key"], columns["steps"], strict=True)
        ]
