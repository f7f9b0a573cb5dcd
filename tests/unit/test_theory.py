"""The paper's theorem, checked exactly on a toy tree (no sampling noise), with the project's real loss.

Depth-3, branching-2 tree of token sequences, fixed rewards on the 8 leaves, a fixed pi_old and a tabular
policy. The expected loss over groups of K leaves drawn from pi_old is enumerated exactly. With the Eq. 9
weights exp(R/alpha) its minimizer must satisfy pi(y_<t)/pi_old(y_<t) ∝ exp(V(y_<t)) at every prefix, for
any K; the normalized weights agree with `final` and are biased with `all` (docs/theory.md has the numbers).
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import pytest
import torch

from gnivo_cli import gnivo_loss

# The toy is a benchmark tool, not part of the package: benchmarks/theory_toy.py (theory_bias.py uses it too).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from theory_toy import ExactGNIVO, ToyTree, enumerate_groups, example_problem, policy_gap

TREE, OLD, REWARDS = example_problem()


def _exact(k: int, prefix: str, weights: str, alpha: float = 0.5) -> ExactGNIVO:
    return ExactGNIVO(TREE, OLD, REWARDS, group_size=k, alpha=alpha, prefix=prefix, weights=weights)


def test_tree_policy_is_a_distribution_and_pi_star_matches_the_soft_values():
    tree = ToyTree(depth=3, branching=2)
    assert (tree.num_leaves, tree.num_nodes) == (8, 7)
    leaf_old = tree.token_logps(OLD).sum(-1)
    assert leaf_old.exp().sum().item() == pytest.approx(1.0, abs=1e-15)

    alpha = 0.5
    exp_r = torch.exp(REWARDS / alpha)
    optimal = tree.optimal_logits(OLD, exp_r)
    # By brute force over the leaves: pi*(leaf) ∝ pi_old(leaf) exp(R/alpha), and its prefix marginals
    # are pi_old(prefix) exp(V(prefix)) / Z with V the soft value.
    target = leaf_old.exp() * exp_r
    target = target / target.sum()
    torch.testing.assert_close(tree.token_logps(optimal).sum(-1).exp(), target, rtol=0, atol=1e-15)
    values = tree.soft_values(OLD, exp_r)
    for t, (prefix_lp, v) in enumerate(zip(tree.prefix_logprobs(optimal), values, strict=True), start=1):
        below = 2 ** (3 - t)
        marginal = target.view(-1, below).sum(-1)
        torch.testing.assert_close(prefix_lp.exp(), marginal, rtol=0, atol=1e-15)
        old_prefix = leaf_old.exp().view(-1, below).sum(-1)
        ratio = marginal / old_prefix / v.exp()
        torch.testing.assert_close(ratio, torch.full_like(ratio, ratio[0].item()), rtol=1e-13, atol=0)
    torch.testing.assert_close(values[-1], REWARDS / alpha, rtol=0, atol=1e-14)  # V = R/alpha at the leaves


def test_multisets_with_multinomial_weights_cover_every_ordered_draw():
    leaf_old = TREE.token_logps(OLD).sum(-1)
    members, logprob = enumerate_groups(8, 4, leaf_old)
    assert members.shape == (math.comb(8 + 4 - 1, 4), 4)
    assert logprob.exp().sum().item() == pytest.approx(1.0, abs=1e-14)
    # The probability of one multiset is the total of its orderings.
    ordered = {}
    for draw in itertools.product(range(8), repeat=4):
        key = tuple(sorted(draw))
        ordered[key] = ordered.get(key, 0.0) + leaf_old[list(draw)].sum().exp().item()
    for row, lp in zip(members.tolist(), logprob.tolist(), strict=True):
        assert math.exp(lp) == pytest.approx(ordered[tuple(row)], rel=1e-12)


# The loss's float32 softmax targets round differently when a group's members come in another order.
@pytest.mark.parametrize(("prefix", "weights", "rtol"), [("all", "normalized", 1e-7), ("final", "exp", 1e-12)])
def test_exact_expectation_equals_gnivo_loss_over_every_ordered_group(prefix, weights, rtol):
    # The enumeration plus gradient rescaling must equal the plain sum over all 8**3 ordered groups of
    # P(group) * gnivo_loss(group), value and gradient.
    k, alpha = 3, 0.5
    logits = (OLD + 0.3 * torch.arange(14, dtype=torch.float64).view(7, 2).sin()).requires_grad_(True)
    logps, old = TREE.token_logps(logits), TREE.token_logps(OLD)
    leaf_p = old.sum(-1).exp()
    total = torch.zeros((), dtype=torch.float64)
    for draw in itertools.product(range(8), repeat=k):
        rows = list(draw)
        loss = gnivo_loss(
            logps[rows],
            old[rows],
            torch.ones(k, 3),
            REWARDS[rows],
            group_size=k,
            alpha=alpha,
            prefix=prefix,
            weights=weights,
        )
        total = total + leaf_p[rows].prod() * loss
    (direct_grad,) = torch.autograd.grad(total, logits)
    value, grad = _exact(k, prefix, weights, alpha).value_and_grad(logits)
    assert value.item() == pytest.approx(total.item(), rel=rtol)
    torch.testing.assert_close(grad, direct_grad, rtol=10 * rtol, atol=1e-14)


@pytest.mark.parametrize("prefix", ["final", "all"])
@pytest.mark.parametrize("k", [2, 3, 6])
@pytest.mark.parametrize("alpha", [0.2, 1.0])
def test_eq9_gradient_is_zero_at_the_soft_value_optimum_for_any_k(prefix, k, alpha):
    exact = _exact(k, prefix, "exp", alpha)
    _, at_old = exact.value_and_grad(OLD)
    _, at_optimum = exact.value_and_grad(exact.optimal_logits())
    assert at_old.abs().max().item() > 1e-2  # pi_old is far from optimal: the check below can fail
    assert at_optimum.abs().max().item() < 1e-13 * at_old.abs().max().item()


@pytest.mark.parametrize("prefix", ["final", "all"])
def test_eq9_minimizer_from_pi_old_is_pi_star(prefix):
    exact = _exact(4, prefix, "exp")
    optimal = exact.optimal_logits()
    learned = exact.minimize(OLD)
    gap = policy_gap(TREE, learned, optimal, REWARDS)
    assert max(gap.max_log_ratio_error) < 1e-6
    assert abs(gap.kl_learned_optimal) < 1e-12
    start = policy_gap(TREE, OLD, optimal, REWARDS)
    assert min(start.max_log_ratio_error) > 0.1  # the minimizer really moved


def test_normalized_weights_are_exact_with_final():
    exact = _exact(4, "final", "normalized")
    optimal = exact.optimal_logits()
    _, at_old = exact.value_and_grad(OLD)
    _, at_optimum = exact.value_and_grad(optimal)
    # Exact up to the float32 rounding of the loss's softmax targets.
    assert at_optimum.abs().max().item() < 1e-6 * at_old.abs().max().item()
    gap = policy_gap(TREE, exact.minimize(OLD), optimal, REWARDS)
    assert max(gap.max_log_ratio_error) < 1e-5


def test_normalized_weights_with_all_are_biased_and_the_bias_shrinks_with_k():
    errors = []
    for k in (2, 4, 8):
        exact = _exact(k, "all", "normalized")
        optimal = exact.optimal_logits()
        _, at_optimum = exact.value_and_grad(optimal)
        assert at_optimum.abs().max().item() > 1e-4  # pi* is not stationary for finite K
        learned = exact.minimize(OLD)
        _, at_learned = exact.value_and_grad(learned)
        assert at_learned.abs().max().item() < 1e-7  # the minimizer was found ...
        gap = policy_gap(TREE, learned, optimal, REWARDS)
        assert gap.kl_learned_optimal > 1e-6  # ... and it is not pi*
        errors.append(max(gap.max_log_ratio_error))
    assert errors[0] > errors[1] > errors[2]
