"""GNIVOTrainer's seams with trl, through the real trainer on the tiny model.

None rewards, `weights: exp`, `num_iterations > 1` and `unit: step` each change what reaches the loss;
a spy on `gnivo_loss_terms` records it.
"""

from __future__ import annotations

import math

import pytest
import torch

from tests.gnivo_trainer_helpers import tiny_gnivo_trainer

pytestmark = pytest.mark.slow


@pytest.fixture
def loss_calls(monkeypatch):
    import gnivo_cli.algorithms.gnivo.trainer as trainer_module

    calls: list[dict] = []
    real = trainer_module.gnivo_loss_terms

    def spy(logps, old_logps, mask, rewards, **kwargs):
        terms = real(logps, old_logps, mask, rewards, **kwargs)
        calls.append(
            dict(logps=logps.detach().clone(), old=old_logps.clone(), mask=mask, rewards=rewards, terms=terms, **kwargs)
        )
        return terms

    monkeypatch.setattr(trainer_module, "gnivo_loss_terms", spy)
    return calls


def row_rewards(completions, **_):
    """Rewards 0, 1, 2 and None (unscorable) for the four completions of each generation batch."""
    return [None if i % 4 == 3 else float(i % 4) for i in range(len(completions))]


def test_none_rewards_exp_weights_and_two_iterations(tmp_path, tiny_model_dir, loss_calls):
    alpha = 0.5
    trainer = tiny_gnivo_trainer(
        tiny_model_dir, tmp_path, row_rewards, max_steps=2, num_iterations=2, weights="exp", alpha=alpha
    )
    trainer.train()
    assert len(loss_calls) == 2  # one generation batch, two optimizer passes over it
    first, second = loss_calls
    # Groups (0, 1) and (2, None): the unscorable completion takes its group's mean (no signal).
    groups = sorted(tuple(pair) for pair in first["rewards"].view(-1, 2).tolist())
    assert groups == [(0.0, 1.0), (2.0, 2.0)]
    assert torch.equal(first["rewards"], second["rewards"])  # the second pass reuses the same batch
    # `exp` weights are exp(R / alpha), not renormalized.
    assert first["weights"] == "exp"
    expected = torch.exp(first["rewards"].view(-1, 2) / alpha)
    assert torch.allclose(first["terms"].weights, expected)
    # pi_old is fixed across the iterations: equal to the policy on the first pass, behind it on the second.
    assert (first["logps"] - first["old"]).abs().max().item() < 1e-5
    assert (second["logps"] - second["old"]).abs().max().item() > 1e-4
    assert torch.equal(first["old"], second["old"])
    assert all(math.isfinite(row["loss"]) for row in trainer.state.log_history if "loss" in row)


def test_step_unit_passes_each_rows_step_ends(tmp_path, tiny_model_dir, loss_calls):
    # Any frequent character works as a separator for a random tiny model; " " splits at words.
    trainer = tiny_gnivo_trainer(
        tiny_model_dir, tmp_path, row_rewards, unit="step", step_separator=" ", prefix="all", max_completion_length=12
    )
    trainer.train()
    (call,) = loss_calls
    ends, lengths = call["step_ends"], call["mask"].sum(dim=1).long().tolist()
    assert len(ends) == len(lengths) and any(len(row) > 1 for row in ends)
    for row, length in zip(ends, lengths, strict=True):
        if length:
            assert row[-1] == length - 1 and row == sorted(set(row))  # increasing, the last step ends the row
        else:
            assert row == []
    assert call["terms"].loss.isfinite()


def test_token_unit_passes_no_step_ends(tmp_path, tiny_model_dir, loss_calls):
    tiny_gnivo_trainer(tiny_model_dir, tmp_path, row_rewards).train()
    (call,) = loss_calls
    assert call["step_ends"] is None and call["sample_weights"] is None  # no vLLM: no sampling correction


def test_vllm_sampling_ratio_reaches_the_loss_with_its_rows(tmp_path, tiny_model_dir, loss_calls):
    # vLLM is not installed in tests: add trl's per-sequence ratio (B, 1) to the generated batch as trl would.
    ratios = {0.0: 1.0, 1.0: 0.0, 2.0: 2.0, 3.0: 0.5}  # reward -> ratio; 0.0 masks the response

    def unique_rewards(completions, **_):
        return [float(i % 4) for i in range(len(completions))]

    trainer = tiny_gnivo_trainer(tiny_model_dir, tmp_path, unique_rewards)
    generate = trainer._generate_and_score_completions

    def with_ratio(inputs):
        batch = generate(inputs)
        batch["importance_sampling_ratio"] = torch.tensor([[ratios[float(i % 4)]] for i in range(4)])
        return batch

    trainer._generate_and_score_completions = with_ratio
    trainer.train()
    (call,) = loss_calls
    # The group shuffle moved ratios with their rows.
    assert [ratios[r] for r in call["rewards"].tolist()] == call["sample_weights"].tolist()
    weights = dict(zip(call["rewards"].tolist(), call["terms"].weights.reshape(-1).tolist(), strict=True))
    assert weights[1.0] == 0.0 and weights[0.0] == pytest.approx(1.0)  # the masked response left its group
    ratio_23 = 2.0 * math.exp(2.0 / 0.2) / (2.0 * math.exp(2.0 / 0.2) + 0.5 * math.exp(3.0 / 0.2))
    assert weights[2.0] == pytest.approx(ratio_23, rel=1e-4)


def test_truncated_completions_leave_their_group(tmp_path, tiny_model_dir, loss_calls):
    def unique_rewards(completions, **_):
        return [float(i) for i in range(len(completions))]

    # 8 completions of at most 12 tokens from a random model: most are truncated, some end early.
    trainer = tiny_gnivo_trainer(
        tiny_model_dir,
        tmp_path,
        unique_rewards,
        mask_truncated_completions=True,
        max_completion_length=12,
        per_device_train_batch_size=8,
    )
    trainer.train()
    (call,) = loss_calls
    finished = call["mask"].sum(dim=1) > 0  # trl zeroed the masks of truncated completions
    assert call["sample_weights"].tolist() == finished.float().tolist()
    assert not finished.all() and finished.any()
    weights = call["terms"].weights.reshape(-1)
    assert (weights[~finished] == 0).all()
    groups = finished.view(-1, 2).any(dim=1)
    assert call["terms"].valid_groups.tolist() == groups.tolist()  # a group with no finished one is left out
