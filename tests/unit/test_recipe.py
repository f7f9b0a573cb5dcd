"""Recipes: typed loading, overrides, and one clear line per problem."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gnivo_cli.algorithms.table import ALGORITHMS
from gnivo_cli.errors import RecipeError
from gnivo_cli.recipe.loader import load_recipe

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
model: {name: embedded}
rewards:
  - name: math
algorithm:
  num_generations: 4
  alpha: 0.2
training:
  per_device_batch_size: 8
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(path: Path, overrides: list[str] | None = None) -> list[str]:
    with pytest.raises(RecipeError) as info:
        load_recipe(path, overrides)
    return info.value.problems


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "recipes").glob("*.yaml")))
def test_shipped_recipes_validate(name):
    recipe = load_recipe(ROOT / "recipes" / name)
    assert recipe.rewards
    assert recipe.training.per_device_batch_size % recipe.algorithm.num_generations == 0


def test_paper_math_recipe_settings():
    recipe = load_recipe(ROOT / "recipes" / "math.yaml")
    assert recipe.model.name == "Qwen/Qwen2.5-Math-7B"
    assert recipe.lora.enabled and recipe.algorithm.num_generations == 4
    assert recipe.algorithm.alpha == 0.2 and recipe.algorithm.beta > 0


def test_defaults_and_types(tmp_path):
    recipe = load_recipe(write(tmp_path, GOOD))
    assert recipe.algorithm.name == "gnivo" and recipe.algorithm.prefix == "all"
    assert recipe.rewards[0].name == "math" and recipe.rewards[0].weight == 1.0
    assert recipe.to_dict()["algorithm"]["alpha"] == 0.2


def test_unknown_key_names_file_line_and_path_with_suggestion(tmp_path):
    path = write(tmp_path, GOOD + "generation:\n  max_new_token: 64\n")
    (line,) = problems(path)
    assert line == f"{path}:10: generation.max_new_token: unknown key; did you mean 'max_new_tokens'?"


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        """\
        rewards: [{name: math}]
        algorithm: {num_generations: 1, alpha: 0, beta: -1}
        training: {per_device_batch_size: 6, learning_rate: fast}
        """,
    )
    found = problems(path)
    assert any("training.learning_rate: must be float, got 'fast'" in p for p in found)
    assert len(found) == 1  # type errors stop before cross-field checks, which need typed values
    path = write(tmp_path, "rewards: [{name: math}]\nalgorithm: {num_generations: 1, alpha: 0, beta: -1}\n")
    found = problems(path)
    assert any("algorithm.num_generations: must be >= 2" in p for p in found)
    assert any("algorithm.alpha: must be > 0" in p for p in found)
    assert any("algorithm.beta: must be >= 0" in p for p in found)
    assert all(p.startswith(f"{path}:2: ") for p in found)


def test_batch_must_hold_whole_groups(tmp_path):
    (line,) = problems(write(tmp_path, GOOD), ["training.per_device_batch_size=6"])
    assert line.startswith("--set training.per_device_batch_size: must be a multiple of algorithm.num_generations (4)")


def test_set_overrides_parse_yaml_values(tmp_path):
    recipe = load_recipe(
        write(tmp_path, GOOD),
        ["algorithm.alpha=0.1", "lora.enabled=true", "lora.target_modules=[q_proj, v_proj]", "rewards.0.weight=2"],
    )
    assert recipe.algorithm.alpha == 0.1 and recipe.lora.enabled is True
    assert recipe.lora.target_modules == ["q_proj", "v_proj"] and recipe.rewards[0].weight == 2
    (line,) = problems(write(tmp_path, GOOD), ["algorithm.temperature=1.0"])
    assert line.startswith("--set algorithm.temperature: unknown key")
    with pytest.raises(RecipeError, match=r"expected key\.path=value"):
        load_recipe(write(tmp_path, GOOD), ["algorithm.alpha"])


def test_gnivo_settings_are_an_error_for_baselines(tmp_path):
    found = problems(write(tmp_path, GOOD), ["algorithm.name=grpo"])
    assert found == [
        f"{tmp_path / 'recipe.yaml'}:6: algorithm.alpha: does not apply to algorithm 'grpo' (only gnivo, gnivo-onestep)"
    ]
    text = GOOD.replace("  alpha: 0.2\n", "")
    assert load_recipe(write(tmp_path, text), ["algorithm.name=rloo"]).algorithm.name == "rloo"
    assert any(
        "gnivo-onestep always uses prefix" in p
        for p in problems(write(tmp_path, GOOD), ["algorithm.name=gnivo-onestep", "algorithm.prefix=all"])
    )


def test_rewards_are_checked_against_the_registry(tmp_path):
    found = problems(write(tmp_path, GOOD.replace("name: math", "name: maht")))
    assert len(found) == 1 and "rewards.0" in found[0] and "math" in found[0]
    found = problems(write(tmp_path, GOOD.replace("- name: math", "- name: math\n    params: {colour: red}")))
    assert len(found) == 1 and "colour" in found[0] and "rewards.0" in found[0]


def test_yaml_syntax_error_and_missing_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("model: {name: x\nrewards: [\n")
    (line,) = problems(path)
    assert line.startswith(f"{path}:") and "invalid YAML" in line
    (line,) = problems(tmp_path / "nope.yaml")
    assert "cannot read recipe" in line


def test_cli_prints_one_line_per_problem_and_exits_1(tmp_path):
    path = write(tmp_path, GOOD + "generation:\n  max_new_token: 64\n")
    run = subprocess.run([sys.executable, "-m", "gnivo_cli", "train", str(path)], capture_output=True, text=True)
    assert run.returncode == 1
    assert (
        run.stderr.strip() == f"error: {path}:10: generation.max_new_token: unknown key; did you mean 'max_new_tokens'?"
    )
    assert "Traceback" not in run.stderr and run.stdout == ""
    debug = subprocess.run(
        [sys.executable, "-m", "gnivo_cli", "--debug", "train", str(path)], capture_output=True, text=True
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "RecipeError" in debug.stderr


def test_dry_run_prints_the_resolved_recipe(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gnivo_cli",
            "train",
            str(write(tmp_path, GOOD)),
            "--dry-run",
            "--set",
            "algorithm.alpha=0.5",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "alpha: 0.5" in run.stdout and "num_generations: 4" in run.stdout


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_resolved_recipes_round_trip(tmp_path, algorithm):
    text = GOOD.replace("  alpha: 0.2\n", f"  name: {algorithm}\n")
    recipe = load_recipe(write(tmp_path, text))
    again = tmp_path / "again.yaml"
    again.write_text(recipe.to_yaml())
    assert load_recipe(again) == recipe
    assert recipe.with_overrides(["training.seed=3"]).training.seed == 3
    assert ("alpha" in recipe.to_dict()["algorithm"]) == ("alpha" in ALGORITHMS[algorithm].owns)
    if algorithm == "gnivo-onestep":
        assert recipe.algorithm.prefix == "final"
