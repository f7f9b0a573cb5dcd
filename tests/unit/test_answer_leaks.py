"""A prompt never shows the model the answer it is graded on: the recipe check, and every shipped recipe's prompts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gnivo_cli.data.loading import load_rows
from gnivo_cli.data.prompts import build_prompts
from gnivo_cli.errors import RecipeError
from gnivo_cli.recipe.loader import load_recipe
from rewards.math.reward import gold_answers
from rewards.registry import load_reward

ROOT = Path(__file__).resolve().parents[2]
RECIPE = """\
model: {{name: embedded}}
data:
  source: synthetic:arithmetic
  prompt_template: "{template}"
rewards:
  - name: {reward}
    params: {params}
algorithm: {{num_generations: 4}}
training: {{per_device_batch_size: 8}}
"""


def recipe_file(tmp_path: Path, template: str, reward: str = "math", params: str = "{}", extra: str = "") -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.format(template=template, reward=reward, params=params) + extra)
    return path


def test_a_template_rendering_the_graded_column_is_refused_in_one_line(tmp_path):
    path = recipe_file(tmp_path, "{prompt} Write only the final answer as \\\\boxed{answer}.")
    with pytest.raises(RecipeError) as caught:
        load_recipe(path)
    assert caught.value.problems == [
        f"{path}:4: data.prompt_template: renders {{answer}}, the column the 'math' reward grades against: the "
        "model would see its answer (set data.allow_answer_in_prompt: true if this is meant)"
    ]
    allowed = load_recipe(path, ["data.allow_answer_in_prompt=true"])
    assert allowed.data.allow_answer_in_prompt


def test_the_graded_column_follows_the_reward_params(tmp_path):
    graded_elsewhere = recipe_file(tmp_path, "{prompt} (hint: {answer})", params="{answer_column: id}")
    assert load_recipe(graded_elsewhere).data.prompt_template == "{prompt} (hint: {answer})"
    with pytest.raises(RecipeError, match=r"renders \{id\}, the column the 'math' reward grades against"):
        load_recipe(recipe_file(tmp_path, "{prompt} #{id}", params="{answer_column: id}"))


def test_a_prompt_column_that_is_the_graded_column_is_refused(tmp_path):
    path = recipe_file(tmp_path, "{prompt}")
    with pytest.raises(RecipeError, match=r"data.prompt_column: is 'answer', which \{prompt\} renders: the column"):
        load_recipe(path, ["data.prompt_column=answer"])


def test_each_reward_declares_what_it_grades_against():
    assert load_reward("math").graded_columns == ("answer",)
    assert load_reward("math", {"answer_column": "solution"}).graded_columns == ("solution",)
    assert load_reward("steps").graded_columns == ("key",)
    assert load_reward("reward-model", {"model": "some/model"}).graded_columns == ()  # loads nothing yet


# -- every shipped recipe: render the first rows and look for the gold answer --------------------------

FIRST_ROWS = 50
#: Hub datasets the recipes name, and their local stand-ins in GNIVO_TEST_BENCHMARKS (with the overrides
#: the stand-in needs: math_train.jsonl holds the final answer in `answer`, not MATH's full `solution`).
LOCAL_STAND_INS = {
    "DigitalLearningGmbH/MATH-lighteval": ("math_train.jsonl", ["rewards.0.params.answer_column=answer"])
}


def golds(reward: Any, row: dict[str, Any]) -> list[str]:
    """The gold answers a reward grades this row against, as text."""
    values = [row.get(column) for column in reward.graded_columns]
    if reward.name == "math":
        return [gold for value in values for gold in gold_answers(value)]
    return [str(value) for value in values if value is not None]


def shows(text: str, gold: str) -> bool:
    """`gold` in `text`, a number not as part of a longer one: "2" is not in "42" or "0.25"; "10" is in "\\boxed10"."""
    before = r"(?<![\d.])" if gold[:1].isdigit() else r"(?<!\w)" if gold[:1].isalnum() else ""
    after = r"(?!\.?\d)" if gold[-1:].isdigit() else r"(?!\w)" if gold[-1:].isalnum() else ""
    return re.search(before + re.escape(gold) + after, text) is not None


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "recipes").glob("*.yaml")))
def test_no_shipped_recipe_shows_the_gold_answer_in_its_prompts(name, request):
    recipe = load_recipe(ROOT / "recipes" / name)  # the leak check itself passes
    source = recipe.data.source
    if not source.startswith("synthetic:"):
        if source not in LOCAL_STAND_INS:
            pytest.skip(f"{name}: {source} is a hub dataset with no local stand-in (tests never reach the hub)")
        folder = request.getfixturevalue("shared_benchmarks")
        file, overrides = LOCAL_STAND_INS[source]
        recipe = load_recipe(ROOT / "recipes" / name, [f"data.source={folder / file}", *overrides])
    section = recipe.data
    rows = load_rows(section)[:FIRST_ROWS]
    rewards = [load_reward(spec.name, spec.params) for spec in recipe.rewards]
    checked = 0
    for row, built in zip(rows, build_prompts(rows, section), strict=True):
        problem = str(row[section.prompt_column])
        shown = "\n".join(message["content"] for message in built["prompt"])
        assert problem in shown
        beyond_problem = shown.replace(problem, "\n")
        for reward in rewards:
            for gold in golds(reward, row):
                assert not shows(beyond_problem, gold), f"{name}: row {row} shows its gold {gold!r}: {shown!r}"
                checked += 1
    assert checked >= len(rows) or not any(reward.graded_columns for reward in rewards)


def test_the_gold_search_finds_the_old_quickstart_leak_and_no_false_one():
    assert shows("Be brief.\n\n Write only the final answer as \\boxed10.", "10")
    assert shows("x = 7, so \\boxed{7}", "7") and shows("answer: x+1", "x+1")
    assert not shows("like \\boxed{42}, 0.25 or 12", "2") and not shows("an example", "x")
