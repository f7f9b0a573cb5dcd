"""GNIVOConfig refuses the GRPOConfig options its loss does not honour, and takes the ones it does."""

from __future__ import annotations

import pytest

from gnivo_cli.algorithms.gnivo.config import GRPO_LOSS_OPTIONS, GNIVOConfig


def config(tmp_path, **overrides) -> GNIVOConfig:
    settings = dict(
        output_dir=str(tmp_path), num_generations=2, per_device_train_batch_size=4, report_to="none", use_cpu=True
    )
    return GNIVOConfig(**{**settings, **overrides})


NOT_HONOURED = {
    "loss_type": "grpo",
    "epsilon": 0.3,
    "epsilon_high": 0.28,
    "delta": 1.5,
    "importance_sampling_level": "sequence",
    "top_entropy_quantile": 0.2,
    "off_policy_mask_threshold": 0.5,
    "entropy_coef": 0.01,
    "use_adaptive_entropy": True,
}


def test_the_audit_covers_every_listed_option():
    assert set(NOT_HONOURED) == set(GRPO_LOSS_OPTIONS)


@pytest.mark.parametrize(("option", "value"), list(NOT_HONOURED.items()))
def test_grpo_loss_options_are_refused(tmp_path, option, value):
    with pytest.raises(ValueError, match=rf"{option}=.*GN-IVO replaces trl's GRPO loss"):
        config(tmp_path, **{option: value})


def test_scale_rewards_is_refused_because_targets_use_raw_rewards(tmp_path):
    with pytest.raises(ValueError, match="scale_rewards='group' does not apply to GN-IVO"):
        config(tmp_path, scale_rewards="group")


@pytest.mark.parametrize("mode", ["token_mask", "token_truncate"])
def test_token_level_vllm_correction_is_refused(tmp_path, mode):
    with pytest.raises(ValueError, match="GN-IVO corrects vLLM's sampling mismatch per sequence"):
        config(tmp_path, use_vllm=True, vllm_importance_sampling_mode=mode)
    # Without vLLM the setting is inert; with the correction off it is not used either.
    assert config(tmp_path, vllm_importance_sampling_mode=mode).vllm_importance_sampling_mode == mode
    config(tmp_path, use_vllm=True, vllm_importance_sampling_mode=mode, vllm_importance_sampling_correction=False)


@pytest.mark.parametrize("mode", ["sequence_mask", "sequence_truncate"])
def test_sequence_level_vllm_correction_is_honoured(tmp_path, mode):
    made = config(tmp_path, use_vllm=True, vllm_importance_sampling_mode=mode)
    assert made.vllm_importance_sampling_correction and made.vllm_importance_sampling_mode == mode


def test_mask_truncated_completions_is_honoured(tmp_path):
    assert config(tmp_path, mask_truncated_completions=True).mask_truncated_completions


def test_defaults_and_gnivo_settings(tmp_path):
    made = config(tmp_path, prefix="final", unit="step", weights="exp", alpha=0.5, use_bias_correction_kl=True)
    assert (made.prefix, made.unit, made.weights, made.alpha) == ("final", "step", "exp", 0.5)
    assert made.use_bias_correction_kl  # honoured: the KL term is weighted by pi_theta / pi_old
    assert config(tmp_path).use_bias_correction_kl is False  # gnivo's default keeps the plain k3 KL


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"prefix": "last"}, "prefix must be one of"),
        ({"unit": "word"}, "unit must be token or step"),
        ({"unit": "step", "step_separator": ""}, "step_separator must not be empty"),
        ({"weights": "softmax"}, "weights must be normalized or exp"),
        ({"per_device_train_batch_size": 3, "gradient_accumulation_steps": 2}, "must be a multiple of num_generations"),
        ({"multi_objective_aggregation": "normalize_then_sum"}, "multi_objective_aggregation"),
    ],
)
def test_invalid_gnivo_settings(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        config(tmp_path, **overrides)


def test_the_recipe_the_config_and_the_loss_state_one_limit_each(tmp_path):
    # One wording from gnivo_cli.algorithms.gnivo.limits, with each layer's own prefix.
    import torch

    from gnivo_cli import gnivo_loss
    from gnivo_cli.algorithms.gnivo.limits import alpha_problem
    from gnivo_cli.errors import RecipeError
    from gnivo_cli.recipe.loader import recipe_from_dict

    expected = alpha_problem(-1.0)
    with pytest.raises(ValueError, match=f"^alpha {expected}$"):
        config(tmp_path, alpha=-1.0)
    x = torch.zeros(2, 2)
    with pytest.raises(ValueError, match=f"^alpha {expected}$"):
        gnivo_loss(x, x, torch.ones(2, 2), torch.zeros(2), group_size=2, alpha=-1.0)
    with pytest.raises(RecipeError) as error:
        recipe_from_dict({"rewards": [{"name": "math"}], "algorithm": {"alpha": -1.0}})
    assert f"algorithm.alpha: {expected}" in str(error.value)
