"""A prompt must not show the model the answer it is graded on.

Each reward declares the columns it grades against (`Reward.graded_columns`: the math reward's gold
column, say); a prompt template that renders one of them is refused before any model loads, unless the
recipe says the task means it (`data.allow_answer_in_prompt: true`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gnivo_cli.data import templates

if TYPE_CHECKING:
    from gnivo_cli.recipe.sections import DataSection, RewardSpec

ALLOW_KEY = "data.allow_answer_in_prompt"


def answer_leak_problems(data: DataSection, rewards: list[RewardSpec]) -> list[tuple[str, str]]:
    """(key, message) for each reward whose graded column the prompt template renders."""
    if data.allow_answer_in_prompt:
        return []
    from rewards.registry import load_reward

    # `{prompt}` renders the prompt column; any other placeholder the column of its name.
    rendered = {
        name: data.prompt_column if name == "prompt" else name for name in templates.placeholders(data.prompt_template)
    }
    problems = []
    for spec in rewards:
        with load_reward(spec.name, spec.params) as reward:  # params already checked; models load on first call
            graded = set(reward.graded_columns)
        for name, column in rendered.items():
            if column not in graded:
                continue
            if name == column:
                key, shown = "data.prompt_template", f"renders {{{name}}}, the column"
            else:
                key, shown = "data.prompt_column", f"is {column!r}, which {{{name}}} renders: the column"
            problems.append(
                (
                    key,
                    f"{shown} the {spec.name!r} reward grades against: the model would see its answer "
                    f"(set {ALLOW_KEY}: true if this is meant)",
                )
            )
    return problems
