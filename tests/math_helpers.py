"""The `math` reward as the math test modules use it: one warmed-up instance per module, a boxed check."""

from __future__ import annotations

from collections.abc import Iterator

from rewards.math.reward import MathReward


def warmed_up_reward() -> Iterator[MathReward]:
    """Body of a module-scoped fixture: sympy's parts load before the first timed check, as in training."""
    with MathReward.from_config({}, name="math") as reward:
        reward.warm_up()
        yield reward


def is_correct(reward: MathReward, answer: str, gold) -> bool:
    (verdict,) = reward.judge([f"Thus the result is \\boxed{{{answer}}}."], [gold])
    assert verdict.source == "boxed"
    return verdict.correct
