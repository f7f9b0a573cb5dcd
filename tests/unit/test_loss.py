"""The GN-IVO loss against hand computations and the properties docs/algorithm.md states."""

from __future__ import annotations

import math

import pytest
import torch

from gnivo_cli import gnivo_loss
from gnivo_cli.algorithms.gnivo.loss import gnivo_loss_terms, group_weights, masked_k3_kl, prefix_log_ratios


def _softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / sum(e) for v in e]


def _ce(w, l):
    p = _softmax(l)
    return -sum(wi * math.log(pi) for wi, pi in zip(w, p, strict=True))


def test_hand_computed_all_final_and_sample_points():
    # One group of K=2, two tokens each; the second response is one token long.
    logps = torch.tensor([[-1.0, -2.0], [-0.5, -9.0]])
    old = torch.tensor([[-1.5, -1.0], [-1.0, -3.0]])
    mask = torch.tensor([[1, 1], [1, 0]])
    rewards = torch.tensor([1.0, 0.0])
    alpha = 0.5
    w = _softmax([1.0 / alpha, 0.0])
    # l_0 = (0.5, 0.5 - 1.0); l_1 = (0.5, 0.5) because padding does not count.
    ce1 = _ce(w, [0.5, 0.5])
    ce2 = _ce(w, [-0.5, 0.5])
    kwargs = dict(group_size=2, alpha=alpha)
    assert gnivo_loss(logps, old, mask, rewards, prefix="all", **kwargs).item() == pytest.approx((ce1 + ce2) / 2)
    assert gnivo_loss(logps, old, mask, rewards, prefix="final", **kwargs).item() == pytest.approx(ce2)
    sampled = {
        round(
            gnivo_loss(
                logps, old, mask, rewards, prefix="sample", generator=torch.Generator().manual_seed(s), **kwargs
            ).item(),
            6,
        )
        for s in range(40)
    }
    assert sampled == {round(ce1, 6), round(ce2, 6)}


def test_exp_weights_are_unnormalized_eq9():
    logps = torch.tensor([[-1.0], [-2.0], [-0.3], [-0.2]])
    old = torch.zeros(4, 1)
    mask = torch.ones(4, 1)
    rewards = torch.tensor([1.0, 0.0, 0.2, 0.2])
    alpha = 0.2
    expected = [
        _ce([math.exp(1.0 / alpha), 1.0], [-1.0, -2.0]),
        _ce([math.exp(1.0), math.exp(1.0)], [-0.3, -0.2]),
    ]
    loss = gnivo_loss(logps, old, mask, rewards, group_size=2, alpha=alpha, weights="exp")
    assert loss.item() == pytest.approx(sum(expected) / 2, rel=1e-6)
    normalized = gnivo_loss(logps, old, mask, rewards, group_size=2, alpha=alpha)
    assert normalized.item() != pytest.approx(loss.item())


@pytest.mark.parametrize("prefix", ["all", "final"])
def test_adding_a_constant_to_a_groups_log_ratios_changes_nothing(prefix):
    torch.manual_seed(0)
    logps = torch.randn(8, 5)
    old = torch.randn(8, 5)
    mask = torch.ones(8, 5)
    rewards = torch.rand(8)
    shift = torch.zeros(8, 5)
    shift[:4] = torch.randn(5)  # the same per-token shift for every member of group 0
    shift[4:] = torch.randn(5) * 3  # and another for group 1
    kwargs = dict(group_size=4, alpha=0.2, prefix=prefix)
    base = gnivo_loss(logps, old, mask, rewards, **kwargs)
    shifted = gnivo_loss(logps + shift, old, mask, rewards, **kwargs)
    assert shifted.item() == pytest.approx(base.item(), abs=1e-5)
    # A shift that differs between members of a group is not a constant and must matter.
    uneven = shift.clone()
    uneven[0] += 1.0
    assert gnivo_loss(logps + uneven, old, mask, rewards, **kwargs).item() != pytest.approx(base.item(), abs=1e-3)


def test_gradient_at_old_policy_is_reinforce_with_advantage_w_minus_uniform():
    torch.manual_seed(1)
    groups, k, length = 2, 4, 6
    theta = torch.randn(groups * k, length, requires_grad=True)
    mask = torch.ones(groups * k, length)
    mask[1, 3:] = 0  # a short response
    mask[6, 1:] = 0
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5, 0.2, 0.9, 0.1])
    loss = gnivo_loss(theta, theta.detach(), mask, rewards, group_size=k, alpha=0.2, prefix="all")
    loss.backward()
    w = group_weights(rewards, group_size=k, alpha=0.2).view(-1)
    lengths = mask.view(groups, k, length).sum(-1).max(-1).values.repeat_interleave(k)  # T_g per row
    j = torch.arange(length).float()
    # d/d theta_ij of mean_t CE(t) = -(w_i - 1/K) * m_ij * #{t : j < t <= T_g} / T_g, then / G.
    expected = -(w - 1 / k).unsqueeze(1) * mask * (lengths.unsqueeze(1) - j).clamp(min=0) / lengths.unsqueeze(1)
    torch.testing.assert_close(theta.grad, expected / groups)


def test_gradient_at_old_policy_through_a_real_model(tiny_tokenizer):
    from gnivo_cli.models.tiny import tiny_causal_lm

    model = tiny_causal_lm(tiny_tokenizer, seed=3)
    torch.manual_seed(3)
    ids = torch.randint(5, len(tiny_tokenizer), (4, 7))
    mask = torch.ones(4, 6)
    mask[2, 4:] = 0
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0])

    def token_logps():
        logits = model(ids).logits[:, :-1]
        return torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)

    logps = token_logps()
    loss = gnivo_loss(logps, logps.detach(), mask, rewards, group_size=4, alpha=0.3, prefix="final")
    grads = torch.autograd.grad(loss, list(model.parameters()))
    w = group_weights(rewards, group_size=4, alpha=0.3).view(-1)
    surrogate = -((w - 0.25) * (token_logps() * mask).sum(-1)).sum()
    expected = torch.autograd.grad(surrogate, list(model.parameters()))
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-4)


def test_loss_is_minimal_where_softmax_of_log_ratios_equals_the_targets():
    rewards = torch.tensor([1.0, 0.0, 0.5, 0.0])
    w = group_weights(rewards, group_size=4, alpha=0.5).view(-1)
    mask = torch.ones(4, 1)
    optimum = (torch.log(w) + 0.7).unsqueeze(1).requires_grad_(True)  # any constant shift is also optimal
    loss = gnivo_loss(optimum, torch.zeros(4, 1), mask, rewards, group_size=4, alpha=0.5, prefix="final")
    entropy = -(w * w.log()).sum()
    assert loss.item() == pytest.approx(entropy.item(), abs=1e-6)
    (grad,) = torch.autograd.grad(loss, optimum)
    assert grad.abs().max().item() < 1e-6
    torch.manual_seed(0)
    for _ in range(20):
        nearby = optimum.detach() + 0.3 * torch.randn(4, 1)
        other = gnivo_loss(nearby, torch.zeros(4, 1), mask, rewards, group_size=4, alpha=0.5, prefix="final")
        assert other.item() > loss.item()


@pytest.mark.parametrize("prefix", ["all", "final", "sample"])
def test_uniform_rewards_give_zero_gradient(prefix):
    torch.manual_seed(2)
    theta = torch.randn(4, 5, requires_grad=True)
    mask = torch.ones(4, 5)
    rewards = torch.full((4,), 0.3)
    loss = gnivo_loss(
        theta,
        theta.detach(),
        mask,
        rewards,
        group_size=4,
        alpha=0.2,
        prefix=prefix,
        generator=torch.Generator().manual_seed(0),
    )
    loss.backward()
    assert loss.item() == pytest.approx(math.log(4))
    assert theta.grad.abs().max().item() == 0.0


def test_uniform_rewards_off_policy_pull_the_group_back_together():
    """On a later pass (pi_theta != pi_old) a group of equal rewards is not signal-free: its target is uniform,
    so the loss pulls the members' log-ratios toward each other (GRPO's zero advantage gives no gradient)."""
    theta = torch.zeros(4, 1, requires_grad=True)
    old = torch.tensor([[0.0], [0.0], [0.0], [0.0]])
    moved = torch.tensor([[0.6], [0.0], [0.0], [-0.3]])  # what an update between passes did to the logps
    loss = gnivo_loss(theta + moved, old, torch.ones(4, 1), torch.zeros(4), group_size=4, alpha=0.2)
    loss.backward()
    assert loss.item() > math.log(4)
    gradient = theta.grad.view(-1)
    assert gradient[0] > 0 > gradient[3]  # descent lowers the raised response and raises the lowered one
    assert gradient.sum().item() == pytest.approx(0.0, abs=1e-7)  # only differences within the group count


@pytest.mark.parametrize("prefix", ["all", "final"])
def test_padding_never_counts(prefix):
    torch.manual_seed(4)
    logps = torch.randn(4, 6, requires_grad=True)
    old = torch.randn(4, 6)
    mask = torch.ones(4, 6)
    mask[0, 2:] = 0
    mask[3, 4:] = 0
    rewards = torch.tensor([0.0, 1.0, 0.0, 1.0])
    kwargs = dict(group_size=2, alpha=0.3, prefix=prefix)
    loss = gnivo_loss(logps, old, mask, rewards, **kwargs)
    loss.backward()
    assert logps.grad[mask == 0].abs().max().item() == 0.0
    junk = torch.where(mask.bool(), torch.zeros(4, 6), torch.full((4, 6), 123.0))
    moved = gnivo_loss(logps.detach() + junk, old - junk, mask, rewards, **kwargs)
    assert moved.item() == pytest.approx(loss.item())
    # A group's prefix points run to its longest member: trailing all-padding columns add nothing.
    padded = [torch.cat([x, torch.zeros(4, 3)], dim=1) for x in (logps.detach(), old, mask)]
    assert gnivo_loss(*padded, rewards, **kwargs).item() == pytest.approx(loss.item())


def test_step_unit_compares_step_t_across_the_group():
    logps = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.5, -0.5, 1.0, 0.0]])
    old = torch.zeros(2, 4)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    rewards = torch.tensor([1.0, 0.0])
    # Row 0: steps end at tokens 1 and 3; row 1: a single step (its whole length).
    step_ends = [[1, 3], [2]]
    w = _softmax([1 / 0.4, 0.0])
    ce1 = _ce(w, [0.3, 1.0])  # first step of each
    ce2 = _ce(w, [1.0, 1.0])  # second step: row 1 contributes its whole length
    loss = gnivo_loss(logps, old, mask, rewards, group_size=2, alpha=0.4, step_ends=step_ends)
    assert loss.item() == pytest.approx((ce1 + ce2) / 2)
    final = gnivo_loss(logps, old, mask, rewards, group_size=2, alpha=0.4, step_ends=step_ends, prefix="final")
    assert final.item() == pytest.approx(ce2)


def test_step_unit_with_every_token_a_step_equals_token_unit():
    torch.manual_seed(5)
    logps, old = torch.randn(4, 5), torch.randn(4, 5)
    mask = torch.ones(4, 5)
    mask[1, 3:] = 0
    rewards = torch.rand(4)
    ends = [list(range(int(m.sum()))) for m in mask]
    token = gnivo_loss(logps, old, mask, rewards, group_size=2, alpha=0.2)
    step = gnivo_loss(logps, old, mask, rewards, group_size=2, alpha=0.2, step_ends=ends)
    assert step.item() == pytest.approx(token.item())


def test_sample_mode_is_unbiased_for_all_mode():
    torch.manual_seed(6)
    logps, old = torch.randn(4, 6), torch.randn(4, 6)
    mask = torch.ones(4, 6)
    mask[2:, 3:] = 0  # group 1 has only 3 prefix points
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0])
    kwargs = dict(group_size=2, alpha=0.5)
    full = gnivo_loss(logps, old, mask, rewards, prefix="all", **kwargs).item()
    gen = torch.Generator().manual_seed(0)
    draws = [
        gnivo_loss(logps, old, mask, rewards, prefix="sample", generator=gen, **kwargs).item() for _ in range(3000)
    ]
    assert sum(draws) / len(draws) == pytest.approx(full, rel=0.03)


def test_terms_report_weights_and_final_log_ratios():
    logps = torch.tensor([[1.0, 1.0], [0.0, 2.0]])
    terms = gnivo_loss_terms(
        logps, torch.zeros(2, 2), torch.ones(2, 2), torch.tensor([1.0, 1.0]), group_size=2, alpha=1.0
    )
    torch.testing.assert_close(terms.weights, torch.tensor([[0.5, 0.5]]))
    torch.testing.assert_close(terms.final_log_ratios, torch.tensor([[2.0, 2.0]]))


def test_prefix_log_ratios_is_one_cumulative_sum():
    l, points = prefix_log_ratios(torch.tensor([[1.0, 2.0, 3.0]]), torch.zeros(1, 3), torch.tensor([[1, 1, 0]]))
    torch.testing.assert_close(l, torch.tensor([[1.0, 3.0, 3.0]]))
    assert points.tolist() == [2]


def test_all_empty_group_is_skipped_not_nan():
    logps = torch.randn(4, 3, requires_grad=True)
    mask = torch.zeros(4, 3)
    mask[2:] = 1
    loss = gnivo_loss(logps, logps.detach() * 0, mask, torch.tensor([1.0, 0.0, 1.0, 0.0]), group_size=2, alpha=1.0)
    only_second = gnivo_loss(
        logps[2:], logps[2:].detach() * 0, mask[2:], torch.tensor([1.0, 0.0]), group_size=2, alpha=1.0
    )
    assert loss.item() == pytest.approx(only_second.item())


@pytest.mark.parametrize(
    ("rows", "k", "alpha", "prefix", "message"),
    [
        (6, 4, 0.2, "all", "batch of 6 rows: must be a multiple of num_generations .4. so every group meets"),
        (4, 1, 0.2, "all", "group_size must be >= 2"),
        (4, 2, 0.0, "all", "alpha"),
        (4, 2, 0.2, "middle", "prefix"),
    ],
)
def test_invalid_arguments_are_rejected(rows, k, alpha, prefix, message):
    x = torch.zeros(rows, 3)
    with pytest.raises(ValueError, match=message):
        gnivo_loss(x, x, torch.ones(rows, 3), torch.zeros(rows), group_size=k, alpha=alpha, prefix=prefix)


def test_k3_kl_is_zero_at_the_reference_and_positive_elsewhere():
    logps = torch.tensor([[-1.0, -2.0, -3.0]])
    mask = torch.tensor([[1, 1, 0]])
    assert masked_k3_kl(logps, logps, mask).item() == 0.0
    ref = torch.tensor([[-1.5, -1.0, 50.0]])  # the padded position must not count
    expected = sum(math.exp(d) - d - 1 for d in (-0.5, 1.0)) / 2
    assert masked_k3_kl(logps, ref, mask).item() == pytest.approx(expected)


# -- sample weights: vLLM's per-sequence sampling correction --------------------------------------------------


def _group(seed=0, k=4, t=3):
    gen = torch.Generator().manual_seed(seed)
    logps = torch.randn(k, t, generator=gen) - 1
    old = torch.randn(k, t, generator=gen) - 1
    return logps, old, torch.ones(k, t), torch.randn(k, generator=gen)


def test_sample_weight_one_changes_nothing():
    logps, old, mask, rewards = _group()
    for prefix in ("final", "all"):
        plain = gnivo_loss(logps, old, mask, rewards, group_size=4, alpha=0.5, prefix=prefix)
        ones = gnivo_loss(
            logps, old, mask, rewards, group_size=4, alpha=0.5, prefix=prefix, sample_weights=torch.ones(4)
        )
        assert torch.allclose(plain, ones)


@pytest.mark.parametrize("weights", ["normalized", "exp"])
def test_known_ratio_against_a_hand_computation(weights):
    # K = 2, final prefix point: targets c_i exp(R_i/alpha) (normalized or not), logits l_i + log c_i.
    logps = torch.tensor([[-1.0, -2.0], [-0.5, -1.0]])
    old = torch.tensor([[-1.5, -1.0], [-1.0, -3.0]])
    mask = torch.ones(2, 2)
    rewards = torch.tensor([1.0, 0.0])
    ratio = torch.tensor([2.0, 0.5])
    l = [(-1.0 + 1.5) + (-2.0 + 1.0), (-0.5 + 1.0) + (-1.0 + 3.0)]
    raw = [2.0 * math.exp(1.0 / 0.5), 0.5 * math.exp(0.0)]
    w = [v / sum(raw) for v in raw] if weights == "normalized" else raw
    expected = _ce(w, [l[0] + math.log(2.0), l[1] + math.log(0.5)])
    got = gnivo_loss(
        logps, old, mask, rewards, group_size=2, alpha=0.5, prefix="final", weights=weights, sample_weights=ratio
    )
    assert got.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("prefix", ["final", "all"])
def test_a_masked_response_leaves_its_group(prefix):
    logps, old, mask, rewards = _group(seed=1)
    logps.requires_grad_(True)
    dropped = gnivo_loss(
        logps, old, mask, rewards, group_size=4, alpha=0.3, prefix=prefix, sample_weights=torch.tensor([1, 0, 1, 1.0])
    )
    keep = [0, 2, 3]
    without = gnivo_loss(logps[keep], old[keep], mask[keep], rewards[keep], group_size=3, alpha=0.3, prefix=prefix)
    assert dropped.item() == pytest.approx(without.item(), rel=1e-5)
    (grad,) = torch.autograd.grad(dropped, logps)
    assert torch.isfinite(grad).all() and grad[1].abs().max() == 0  # no gradient through the dropped one


def test_a_group_with_every_response_masked_is_left_out():
    logps, old, mask, rewards = _group(seed=2, k=4)
    two_groups = dict(group_size=2, alpha=0.5, prefix="final")
    weights = torch.tensor([0.0, 0.0, 1.0, 1.0])
    terms = gnivo_loss_terms(logps, old, mask, rewards, sample_weights=weights, **two_groups)
    assert terms.valid_groups.tolist() == [False, True]
    alone = gnivo_loss(logps[2:], old[2:], mask[2:], rewards[2:], **two_groups)
    assert terms.loss.item() == pytest.approx(alone.item(), rel=1e-6)


def test_truncated_ratios_keep_the_groups_optimum():
    # At l_i = R_i / alpha (+ a constant) the corrected target and policy agree whatever the positive ratio:
    # the gradient vanishes, so truncation only reweights, it does not move the optimum.
    rewards = torch.tensor([0.3, -0.2, 1.0, 0.0])
    alpha = 0.5
    old = torch.zeros(4, 1)
    logps = (rewards / alpha + 0.7).unsqueeze(1).clone().requires_grad_(True)
    loss = gnivo_loss(
        logps,
        old,
        torch.ones(4, 1),
        rewards,
        group_size=4,
        alpha=alpha,
        prefix="final",
        sample_weights=torch.tensor([3.0, 0.2, 1.0, 0.5]),
    )
    (grad,) = torch.autograd.grad(loss, logps)
    assert grad.abs().max().item() < 1e-6


def test_sample_weights_must_be_finite_and_non_negative():
    logps, old, mask, rewards = _group()
    with pytest.raises(ValueError, match="sample_weights"):
        gnivo_loss(logps, old, mask, rewards, group_size=4, alpha=0.5, sample_weights=torch.tensor([1, -1, 1, 1.0]))


# -- rewards: None / NaN from reward functions ---------------------------------------------------------------


def test_combine_rewards_skips_none_and_fills_unscorable_with_the_group_mean():
    nan = float("nan")
    per_func = torch.tensor(
        [
            [1.0, 2.0],  # both functions scored: 1*1 + 2*0.5
            [nan, 4.0],  # one skipped: only the other counts
            [nan, nan],  # nobody scored: the group's mean
            [nan, nan],  # a group nobody could score: 0 for all (uniform target)
            [nan, nan],
            [nan, nan],
        ]
    )
    from gnivo_cli.algorithms.gnivo.loss import combine_rewards

    rewards = combine_rewards(per_func, torch.tensor([1.0, 0.5]), group_size=3)
    mean = (2.0 + 2.0) / 2
    assert rewards.tolist()[:3] == pytest.approx([2.0, 2.0, mean])
    assert rewards.tolist()[3:] == [0.0, 0.0, 0.0]
    assert not torch.isnan(rewards).any()


def test_masked_k3_kl_bias_correction_weights_each_token():
    logps = torch.tensor([[-1.0, -2.0]])
    ref = torch.tensor([[-1.5, -1.0]])
    mask = torch.ones(1, 2)
    ratio = torch.tensor([[2.0, 0.5]])
    per_token = [math.exp(-0.5) + 0.5 - 1, math.exp(1.0) - 1.0 - 1]
    assert masked_k3_kl(logps, ref, mask).item() == pytest.approx(sum(per_token) / 2)
    assert masked_k3_kl(logps, ref, mask, ratio).item() == pytest.approx((2 * per_token[0] + 0.5 * per_token[1]) / 2)


@pytest.mark.parametrize("prefix", ["all", "final"])
@pytest.mark.parametrize("unit", ["token", "step"])
def test_a_tool_result_inside_a_completion_is_left_out_as_if_it_were_not_there(prefix, unit):
    # Row 0 holds a two-token tool result (mask 0) in the middle: the loss must equal the loss on the same
    # row with those tokens removed, at every prefix point, the last counted token included.
    torch.manual_seed(0)
    logps, old = torch.randn(2, 6), torch.randn(2, 6)
    mask = torch.tensor([[1, 1, 0, 0, 1, 1], [1, 1, 1, 1, 0, 0]])
    keep = [[0, 1, 4, 5], [0, 1, 2, 3]]
    short = (
        torch.stack([logps[i, k] for i, k in enumerate(keep)]),
        torch.stack([old[i, k] for i, k in enumerate(keep)]),
    )
    rewards = torch.tensor([1.0, 0.0])
    ends = {"token": (None, None), "step": ([[1, 5], [1, 3]], [[1, 3], [1, 3]])}[unit]
    with_holes = gnivo_loss_terms(logps, old, mask, rewards, group_size=2, alpha=0.5, prefix=prefix, step_ends=ends[0])
    without = gnivo_loss_terms(
        *short, torch.ones(2, 4), rewards, group_size=2, alpha=0.5, prefix=prefix, step_ends=ends[1]
    )
    assert torch.allclose(with_holes.loss, without.loss)
    assert torch.allclose(with_holes.final_log_ratios, without.final_log_ratios)


def test_exp_weights_past_the_float_range_are_refused_not_inf():
    from gnivo_cli.algorithms.gnivo.loss import WeightOverflowError

    logps = torch.zeros(2, 3, requires_grad=True)
    mask = torch.ones(2, 3)
    rewards = torch.tensor([1.0, 0.0])
    # R/alpha = 80: exp(80) is finite in float32, and so is the loss.
    loss = gnivo_loss(logps, logps.detach(), mask, rewards, group_size=2, alpha=1 / 80, weights="exp")
    assert torch.isfinite(loss)
    assert torch.isfinite(group_weights(rewards, group_size=2, alpha=1 / 80, weights="exp")).all()
    # R/alpha = 100: exp(100) overflows float32; refused with the largest R/alpha and what to change.
    with pytest.raises(WeightOverflowError, match=r"largest R/alpha 100 > 88.72.*raise algorithm.alpha above 0.01127"):
        gnivo_loss(logps, logps.detach(), mask, rewards, group_size=2, alpha=0.01, weights="exp")
    # float64 rewards have float64's range; softmax targets never overflow.
    assert torch.isfinite(group_weights(rewards.double(), group_size=2, alpha=0.01, weights="exp")).all()
    assert torch.isfinite(group_weights(rewards, group_size=2, alpha=1e-6, weights="normalized")).all()
