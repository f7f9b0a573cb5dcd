"""A gnivo reward plugin: rewards completions whose length is near a target.

Useful next to a quality reward for summaries (TL;DR) or short answers, where a policy otherwise drifts
towards longer and longer text.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from rewards.base import Reward, RewardParams, as_text

__all__ = ["LengthReward"]


class LengthReward(Reward):
    """1.0 for a completion of exactly `target` words (or characters), falling linearly to 0.0 at
    `tolerance` away from it. Rows whose `target_column` value is null get None: the reward does not apply.
    """

    description = "1.0 when a completion's length (words or characters) is near a target, falling to 0 beyond."

    @dataclasses.dataclass(frozen=True)
    class Params(RewardParams):
        #: The ideal length.
        target: int = 50
        #: How far from the target the reward reaches 0.
        tolerance: int = 50
        #: What to count: "words" or "characters".
        unit: Literal["words", "characters"] = "words"
        #: Dataset column with a per-row target (optional); rows where it is null are not scored.
        target_column: str | None = None

        def problems(self) -> list[str]:
            problems = []
            if self.target < 0:
                problems.append(f"parameter 'target' must be >= 0, got {self.target}")
            if self.tolerance < 1:
                problems.append(f"parameter 'tolerance' must be >= 1, got {self.tolerance}")
            return problems

    params: Params

    @property
    def required_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.params.target_column,) if self.params.target_column else ()

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: list[Any]) -> list[float | None]:
        params = self.params
        targets = columns[params.target_column] if params.target_column else [params.target] * len(completions)
        scores: list[float | None] = []
        for completion, target in zip(completions, targets, strict=True):
            if target is None:
                scores.append(None)
                continue
            text = as_text(completion)
            length = len(text.split()) if params.unit == "words" else len(text)
            scores.append(max(0.0, 1.0 - abs(length - int(target)) / params.tolerance))
        return scores
