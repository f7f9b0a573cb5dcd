"""One policy samples, scores its old log-probabilities and learns: with dropout in the model (attention)
and in LoRA, the first pass over a generated batch sees a log-ratio of exactly 0, for GN-IVO and GRPO."""

from __future__ import annotations

import pytest
import torch

from gnivo_cli.algorithms.table import get_algorithm
from gnivo_cli.errors import RecipeError
from gnivo_cli.models.dropout import zero_dropout_rates
from gnivo_cli.models.tiny import save_tiny_model, tiny_causal_lm
from gnivo_cli.recipe.loader import load_recipe
from gnivo_cli.training import train as train_module
from tests.integration.test_train import read_metrics, tiny_recipe

pytestmark = pytest.mark.slow

DROPOUT = 0.3


@pytest.fixture(scope="module")
def dropout_model_dir(tmp_path_factory):
    """A tiny Llama whose attention drops out in train mode (a rate its layers read, not a Dropout module)."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny-dropout"), attention_dropout=DROPOUT)


def first_pass_gaps(monkeypatch, tmp_path, model_dir, algorithm: str) -> tuple[list[float], list[dict]]:
    """Train 2 batches x 2 passes; for each loss call, the largest |log pi - log pi_old| over its tokens."""
    from peft import LoraConfig

    # LoRA dropout as a library caller can still set it (recipes refuse it).
    lora = LoraConfig(r=4, lora_alpha=8, lora_dropout=DROPOUT, target_modules="all-linear", task_type="CAUSAL_LM")
    monkeypatch.setattr(train_module, "_lora_config", lambda recipe: lora)
    trainer_class = get_algorithm(algorithm).trainer_class()
    compute_loss = trainer_class._compute_loss
    gaps: list[float] = []

    def recording(self, model, inputs):
        ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1)
        mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
        with torch.no_grad():  # the policy as the loss sees it: train mode
            logps, _, _ = self._get_per_token_logps_and_entropies(model, ids, mask, inputs["completion_ids"].size(1))
        gap = (logps - inputs["old_per_token_logps"]).abs() * inputs["completion_mask"]
        gaps.append(gap.max().item())
        return compute_loss(self, model, inputs)

    monkeypatch.setattr(trainer_class, "_compute_loss", recording)
    path = tiny_recipe(
        tmp_path,
        model_dir,
        rewards="[{name: length, params: {target: 3, tolerance: 6}}]",
        algorithm=f"{{name: {algorithm}, num_generations: 2, num_iterations: 2, beta: 0.0}}",
        training=f"{{max_steps: 4, per_device_batch_size: 4, save_steps: 4, learning_rate: 1.0e-2, "
        f"output_dir: '{tmp_path / 'run'}'}}",
    )
    train_module.train(load_recipe(path))
    return gaps, read_metrics(tmp_path / "run")


@pytest.mark.parametrize("algorithm", ["gnivo", "grpo"])
def test_first_pass_log_ratios_are_exactly_zero_with_dropout_set(monkeypatch, tmp_path, dropout_model_dir, algorithm):
    gaps, rows = first_pass_gaps(monkeypatch, tmp_path, dropout_model_dir, algorithm)
    assert len(gaps) == 4
    assert gaps[0::2] == [0.0, 0.0]  # the first pass over each of the two generated batches
    if algorithm == "gnivo":
        assert [row["gnivo/final_log_ratio_abs"] for row in rows[0::2]] == [0.0, 0.0]


def test_the_check_sees_dropout_when_it_is_left_on(monkeypatch, tmp_path, dropout_model_dir):
    build_config = train_module.trainer_config

    def with_dropout(*args, **kwargs):
        config = build_config(*args, **kwargs)
        config.disable_dropout = False
        return config

    monkeypatch.setattr(train_module, "trainer_config", with_dropout)
    monkeypatch.setattr("gnivo_cli.models.dropout.zero_dropout_rates", lambda model: [])
    gaps, _ = first_pass_gaps(monkeypatch, tmp_path, dropout_model_dir, "gnivo")
    assert all(gap > 0 for gap in gaps[0::2])


def test_zero_dropout_rates_makes_train_mode_deterministic(tiny_tokenizer):
    model = tiny_causal_lm(tiny_tokenizer, attention_dropout=DROPOUT).train()
    ids = torch.tensor([[1, 5, 9, 12, 7, 3]])
    assert not torch.equal(model(ids).logits, model(ids).logits)
    changed = zero_dropout_rates(model)
    assert changed and all(name.endswith(".attention_dropout") for name in changed)
    assert torch.equal(model(ids).logits, model(ids).logits)


def test_recipes_refuse_lora_dropout(tmp_path, tiny_model_dir):
    path = tiny_recipe(tmp_path, tiny_model_dir, lora="{enabled: true, r: 4, alpha: 8, dropout: 0.05}")
    with pytest.raises(RecipeError, match=r"tiny.yaml:\d+: lora.dropout: must be 0, got 0.05: gnivo trains without"):
        load_recipe(path)
