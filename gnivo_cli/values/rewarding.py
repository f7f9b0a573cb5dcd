"""Each completion's reward, as training would give it: the recipe's rewards (or `--reward NAME`), called through
the reward contract with the prompt as chat messages, the completion as one assistant message and the row's
columns; the total is the weighted sum of the rewards that apply (None where none does)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.recipe.sections import RewardSpec


@dataclass(frozen=True)
class RewardInput:
    messages: list[dict[str, str]]
    completion: str
    columns: dict[str, Any]


def score_rewards(
    specs: Sequence[RewardSpec], inputs: Sequence[RewardInput]
) -> tuple[list[float | None], list[dict[str, float | None]], list[str]]:
    """(total per input, each reward's value per input, notes on rewards that could not run)."""
    from rewards.calling import RewardCallError, call_reward, missing_columns
    from rewards.registry import load_reward

    totals: list[float | None] = [None] * len(inputs)
    parts: list[dict[str, float | None]] = [{} for _ in inputs]
    notes: list[str] = []
    if not inputs:
        return totals, parts, notes
    for spec in specs:
        reward = load_reward(spec.name, spec.params)
        try:
            missing = sorted({name for item in inputs for name in missing_columns(reward, item.columns)})
            if missing:
                flags = " ".join(f"--column {name}=..." for name in missing)
                notes.append(f"reward {spec.name!r} needs the column(s) {', '.join(missing)} ({flags}); not scored")
                continue
            names = dict.fromkeys(key for item in inputs for key in item.columns)
            columns = {name: [item.columns.get(name) for item in inputs] for name in names}
            try:
                assessed, _ = call_reward(
                    reward,
                    [item.messages for item in inputs],
                    [[{"role": "assistant", "content": item.completion}] for item in inputs],
                    columns,
                )
            except RewardCallError as error:
                raise GnivoError(
                    f"{error} (completion {error.index})" if error.index is not None else str(error)
                ) from error
        finally:
            reward.close()
        for index, score in enumerate(assessment.score for assessment in assessed):
            parts[index][spec.name] = score
            if score is not None:
                totals[index] = (totals[index] or 0.0) + spec.weight * score
    return totals, parts, notes
