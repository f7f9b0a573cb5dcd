"""A run shows one prompt exactly as the model receives it when it starts, and keeps the first few."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from gnivo_cli.recipe.loader import load_recipe
from gnivo_cli.training import run_files
from gnivo_cli.training.prompt_preview import KEPT_PROMPTS
from gnivo_cli.training.train import train
from tests.integration.test_train import tiny_recipe

pytestmark = pytest.mark.slow


def test_the_start_shows_and_keeps_the_prompts_as_the_model_receives_them(tmp_path, tiny_model_dir):
    path = tiny_recipe(
        tmp_path,
        tiny_model_dir,
        data="{source: 'synthetic:arithmetic', synthetic: {count: 32, high: 5}, system_prompt: 'Be brief.', "
        "prompt_template: '{prompt} Write only the final answer as \\boxed{}.'}",
        training=f"{{max_steps: 1, per_device_batch_size: 4, save_steps: 1, output_dir: '{tmp_path / 'run'}'}}",
    )
    output = io.StringIO()
    train(load_recipe(path), console=Console(file=output, width=120))
    kept = (tmp_path / "run" / run_files.PROMPTS_FILE).read_text()
    first = (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 4 + 1? "
        "Write only the final answer as \\boxed{}.<|im_end|>\n<|im_start|>assistant\n"
    )
    assert kept.startswith("=== data row 1, as the model receives it (")
    assert first in kept
    assert kept.count("=== data row ") == KEPT_PROMPTS
    shown = output.getvalue()
    assert "data row 1, as the model receives it" in shown and "data row 2" not in shown
    assert "Write only the final answer as \\boxed{}.<|im_end|>" in shown
