"""The algorithm table: every algorithm's recipe becomes the right trl config and trainer."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from gnivo_cli.algorithms.table import ALGORITHMS, GNIVO_KEYS, OWNED_KEYS, SHARED_KEYS
from gnivo_cli.errors import RecipeError
from gnivo_cli.recipe.loader import AlgorithmSection, recipe_from_dict
from gnivo_cli.training.train import _trainer_class, trainer_config

ROOT = Path(__file__).resolve().parents[2]
GNIVO_SETTINGS = {"alpha": 0.7, "prefix": "sample", "unit": "step", "step_separator": "\n", "weights": "exp"}


def recipe_for(name: str, **algorithm):
    raw = {
        "rewards": [{"name": "math"}],
        "algorithm": {"name": name, "num_generations": 2, "beta": 0.05, "num_iterations": 2, **algorithm},
        "training": {"per_device_batch_size": 4, "max_steps": 3},
    }
    return recipe_from_dict(raw)


def owned_settings(name: str) -> dict:
    return {key: value for key, value in GNIVO_SETTINGS.items() if key in ALGORITHMS[name].free_keys}


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_every_algorithm_recipe_becomes_its_trl_config(tmp_path, name):
    spec = ALGORITHMS[name]
    recipe = recipe_for(name, **owned_settings(name))
    config = trainer_config(recipe, tmp_path, [1.0])
    assert type(config) is spec.config_class()
    assert (config.num_generations, config.beta, config.num_iterations) == (2, 0.05, 2)
    for key in spec.owns:  # an owned recipe key reaches the config under the same name
        assert getattr(config, key) == spec.fixed.get(key, GNIVO_SETTINGS.get(key))
    for key, value in spec.settings.items():
        assert getattr(config, key) == value
    assert _trainer_class(name) is spec.trainer_class()


@pytest.mark.parametrize(
    ("name", "config_class", "loss_type", "scale_rewards", "trainer"),
    [
        ("gnivo", "GNIVOConfig", "dapo", "none", "GNIVOTrainer"),
        ("gnivo-onestep", "GNIVOConfig", "dapo", "none", "GNIVOTrainer"),
        ("grpo", "GRPOConfig", "dapo", "group", "TimedGRPOTrainer"),
        ("grpo-noclip", "GRPOConfig", "dapo", "group", "TimedGRPOTrainer"),
        ("rloo", "RLOOConfig", None, None, "TimedRLOOTrainer"),
        ("dr-grpo", "GRPOConfig", "dr_grpo", "none", "TimedGRPOTrainer"),
    ],
)
def test_key_trl_settings_per_algorithm(tmp_path, name, config_class, loss_type, scale_rewards, trainer):
    config = trainer_config(recipe_for(name), tmp_path, [1.0])
    assert type(config).__name__ == config_class
    if loss_type is not None:
        assert (config.loss_type, config.scale_rewards) == (loss_type, scale_rewards)
    assert _trainer_class(name).__name__ == trainer
    if name == "gnivo-onestep":
        assert config.prefix == "final"
    # GRPO clips its ratio to [0.8, 1.2]; grpo-noclip's clip interval holds any ratio a few passes produce.
    if name in ("grpo", "grpo-noclip"):
        clip = (1 - config.epsilon, 1 + (config.epsilon_high or config.epsilon))
        assert clip == ((0.8, 1.2) if name == "grpo" else (1 - 1e9, 1 + 1e9))


def test_the_table_covers_every_algorithm_exactly_once():
    assert set(ALGORITHMS) == {"gnivo", "gnivo-onestep", "grpo", "grpo-noclip", "rloo", "dr-grpo"}
    section_fields = {f.name for f in dataclasses.fields(AlgorithmSection)}
    assert set(SHARED_KEYS) | set(OWNED_KEYS) | {"name"} == section_fields  # every recipe key has one owner rule
    assert set(GNIVO_KEYS) <= set(OWNED_KEYS)
    assert len({spec.color for spec in ALGORITHMS.values()}) == len(ALGORITHMS)


@pytest.mark.parametrize("name", [n for n, spec in ALGORITHMS.items() if set(spec.owns) != set(OWNED_KEYS)])
def test_a_key_the_algorithm_does_not_own_is_refused(name):
    foreign = next(key for key in OWNED_KEYS if key not in ALGORITHMS[name].owns)
    with pytest.raises(RecipeError) as info:
        recipe_for(name, **{foreign: GNIVO_SETTINGS[foreign]})
    assert f"algorithm.{foreign}: does not apply to algorithm {name!r}" in info.value.problems[0]


def test_unknown_algorithm_names_the_closest():
    with pytest.raises(RecipeError) as info:
        recipe_for("dr_grpo")
    assert info.value.problems == ["algorithm.name: unknown algorithm 'dr_grpo'; did you mean 'dr-grpo'?"]


def test_help_and_readme_list_the_table():
    from typer.testing import CliRunner

    from gnivo_cli.cli import app

    help_text = " ".join(CliRunner().invoke(app, ["compare", "--help"], env={"COLUMNS": "200"}).output.split())
    readme = (ROOT / "README.md").read_text()
    for name in ALGORITHMS:
        assert name in help_text
        assert f"`{name}`" in readme


def test_vllm_generation_keys_reach_the_trl_config(tmp_path):
    recipe = recipe_for("gnivo").with_overrides(
        [
            "generation.vllm_mode=server",
            "generation.vllm_server_url=http://10.0.0.2:8000",
            "generation.vllm_server_timeout=60",
            "generation.vllm_gpu_memory_utilization=0.5",
        ]
    )
    config = trainer_config(recipe, tmp_path, [1.0])
    assert (config.vllm_mode, config.vllm_server_base_url) == ("server", "http://10.0.0.2:8000")
    assert (config.vllm_server_timeout, config.vllm_gpu_memory_utilization) == (60.0, 0.5)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("generation.vllm_server_url=10.0.0.2:8000", "vllm_server_url: must be an http(s) URL, such as"),
        ("generation.vllm_gpu_memory_utilization=1.5", "generation.vllm_gpu_memory_utilization"),
        ("generation.vllm_server_timeout=0", "generation.vllm_server_timeout"),
    ],
)
def test_bad_vllm_generation_keys_are_refused(override, message):
    with pytest.raises(RecipeError, match=re.escape(message)):
        recipe_for("gnivo").with_overrides([override])
