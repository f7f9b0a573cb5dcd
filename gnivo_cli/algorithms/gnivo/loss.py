"""The GN-IVO loss: pure tensor functions, no trl import.

For one prompt and its group of K responses with rewards R_i (see docs/algorithm.md):

    w_i    = softmax_i(R_i / alpha)                       target, no gradient ("normalized")
             or exp(R_i / alpha)                          the paper's Eq. 9 ("exp")
    l_i(t) = sum_{j < t} m_ij (log pi_theta - log pi_old)(y_ij)   the policy's implicit prefix value
    CE(t)  = - sum_i w_i log softmax_i(l(t))
    loss   = mean over groups of the mean over the group's chosen prefix points t of CE(t)

Adding a constant to every l_i(t) of a group leaves CE(t) unchanged: the partition function Z(x),
shared by the group, cancels. That is why no critic or value head is needed.

Optional per-response sample weights c_i >= 0 (vLLM's sampling correction) enter both sides:
w_i <- c_i w_i and l_i(t) <- l_i(t) + log c_i; a response with c_i = 0 leaves its group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from gnivo_cli.algorithms.gnivo.limits import alpha_problem, group_size_problem, whole_groups_problem

PrefixMode = Literal["final", "sample", "all"]
WeightMode = Literal["normalized", "exp"]
PREFIX_MODES: tuple[str, ...] = ("final", "sample", "all")
WEIGHT_MODES: tuple[str, ...] = ("normalized", "exp")


class WeightOverflowError(ValueError):
    """exp(R/alpha) is beyond the floating-point range: Eq. 9's unnormalized weights cannot be formed."""


def group_weights(rewards: torch.Tensor, *, group_size: int, alpha: float, weights: WeightMode = "normalized"):
    """Target weights per response, shape (G, K): softmax(R/alpha) or exp(R/alpha) within each group.

    softmax is computed stably for any R/alpha. Eq. 9's exp(R/alpha) has no such form (its scale is the
    point): past the dtype's range (R/alpha > 88.7 in float32) it is refused with a `WeightOverflowError`
    rather than returned as inf, which would make the loss NaN.
    """
    scaled = rewards.detach().to(torch.promote_types(rewards.dtype, torch.float32)).view(-1, group_size) / alpha
    if weights == "normalized":
        return torch.softmax(scaled, dim=-1)
    if weights == "exp":
        limit = math.log(torch.finfo(scaled.dtype).max)
        largest = float(scaled.max()) if scaled.numel() else 0.0
        if largest > limit:
            raise WeightOverflowError(
                f"weights 'exp': exp(R/alpha) overflows {scaled.dtype} (largest R/alpha {largest:.4g} > {limit:.4g}); "
                f"raise algorithm.alpha above {float(rewards.max()) / limit:.4g}, scale the rewards down, or use "
                "weights: normalized"
            )
        return torch.exp(scaled)
    raise ValueError(f"weights must be one of {WEIGHT_MODES}, got {weights!r}")


def prefix_log_ratios(
    logps: torch.Tensor,
    old_logps: torch.Tensor,
    mask: torch.Tensor,
    step_ends: Sequence[Sequence[int]] | torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The prefix log-ratios l_i(t) at every prefix point, and how many points each row has.

    Token unit (`step_ends` None): point t is the first t tokens; one cumulative sum gives all of them.
    Where the mask has holes (a tool's result inside a completion: trl's `tool_mask`), the points are the
    counted tokens only. Step unit: point t of row i ends at the t-th entry of `step_ends[i]` (0-based
    index of the step's last token); past its last step a row keeps its whole length. Returns (l, points)
    with l of shape (B, P).
    """
    token_log_ratio = (logps - old_logps) * mask
    cumulative = token_log_ratio.cumsum(dim=-1)  # (B, T): l_i(t) for t = 1..T
    if step_ends is None:
        if bool((mask[:, 1:] <= mask[:, :-1]).all()):  # every row's counted tokens come first
            return cumulative, mask.sum(dim=-1).long()
        step_ends = [row.nonzero().flatten().tolist() for row in mask]
    positions, points = _step_positions(step_ends, mask)
    return cumulative.gather(1, positions), points


def _step_positions(step_ends, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather indices (B, S) into the token cumsum, padded with each row's last position."""
    rows = mask.shape[0]
    if isinstance(step_ends, torch.Tensor):
        step_ends = [[int(p) for p in row if p >= 0] for row in step_ends.tolist()]
    if len(step_ends) != rows:
        raise ValueError(f"step_ends has {len(step_ends)} rows, expected {rows}")
    # The cumsum stops growing after each row's last counted token (0 for a row with none).
    counted = mask > 0
    lasts = torch.where(counted.any(dim=-1), mask.shape[-1] - 1 - counted.flip(-1).int().argmax(dim=-1), 0).tolist()
    width = max((len(ends) for ends in step_ends), default=0) or 1
    positions = torch.zeros(rows, width, dtype=torch.long)
    for i, (ends, last) in enumerate(zip(step_ends, lasts, strict=True)):
        row = [min(int(p), last) for p in ends] or [last]
        positions[i] = torch.tensor(row + [last] * (width - len(row)))
    points = torch.tensor([len(ends) for ends in step_ends], dtype=torch.long)
    return positions.to(mask.device), points.to(mask.device)


def combine_rewards(rewards_per_func: torch.Tensor, reward_weights: torch.Tensor, group_size: int) -> torch.Tensor:
    """One reward per completion: the weighted sum over reward functions, NaN (None) terms skipped.

    A completion no function could score (all NaN) carries no signal: it takes its group's mean, and a
    group that nobody could score gets 0 for everyone (a uniform target).
    """
    weights = reward_weights.to(rewards_per_func.device, rewards_per_func.dtype).unsqueeze(0)
    rewards = (rewards_per_func * weights).nansum(dim=1)
    rewards[torch.isnan(rewards_per_func).all(dim=1)] = torch.nan
    grouped = rewards.view(-1, group_size)
    group_mean = torch.nan_to_num(torch.nanmean(grouped, dim=1, keepdim=True), nan=0.0)
    return torch.where(torch.isnan(grouped), group_mean, grouped).reshape(-1)


@dataclass
class GnivoLossTerms:
    """The loss and what it is made of, for logging."""

    loss: torch.Tensor  # scalar
    group_loss: torch.Tensor  # (G,) mean CE over the chosen prefix points of each group
    weights: torch.Tensor  # (G, K) targets
    final_log_ratios: torch.Tensor  # (G, K) l_i(T_g), detached
    valid_groups: torch.Tensor  # (G,) bool: the group has at least one prefix point


def gnivo_loss_terms(
    logps: torch.Tensor,
    old_logps: torch.Tensor,
    mask: torch.Tensor,
    rewards: torch.Tensor,
    *,
    group_size: int,
    alpha: float,
    prefix: PrefixMode = "all",
    weights: WeightMode = "normalized",
    step_ends: Sequence[Sequence[int]] | torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    sample_weights: torch.Tensor | None = None,
) -> GnivoLossTerms:
    """`gnivo_loss` with its parts: per-group losses, the target weights and the final log-ratios."""
    _check_shapes(logps, old_logps, mask, rewards, group_size, alpha, prefix)
    mask = mask.to(logps.dtype)
    rows = logps.shape[0]
    groups = rows // group_size

    l, points = prefix_log_ratios(logps, old_logps, mask, step_ends)
    l = l.view(groups, group_size, -1)  # (G, K, P)
    group_points = points.view(groups, group_size).max(dim=-1).values  # P_g: the longest member's points
    target = group_weights(rewards, group_size=group_size, alpha=alpha, weights=weights).to(l.dtype)
    kept = torch.ones_like(target, dtype=torch.bool)
    logits, has_signal = l, kept.any(dim=1)
    if sample_weights is not None:
        target, logits, kept, has_signal = _apply_sample_weights(target, l, sample_weights, weights)

    # CE(t) for every group and prefix point: - sum_i w_i log softmax_i(l(t)); dropped responses add nothing.
    log_probs = torch.log_softmax(logits, dim=1).masked_fill(~kept.unsqueeze(-1), 0.0)
    cross_entropy = -(target.unsqueeze(-1) * log_probs).sum(dim=1)  # (G, P)

    chosen = _prefix_selection(group_points, cross_entropy.shape[1], prefix, generator).to(l.dtype)
    counts = chosen.sum(dim=-1)
    valid = (counts > 0) & has_signal
    group_loss = (cross_entropy * chosen).sum(dim=-1) / counts.clamp(min=1)
    # Groups whose responses are all empty (or all dropped) carry no signal.
    loss = group_loss[valid].mean() if bool(valid.any()) else (logps * 0).sum()
    last = (group_points - 1).clamp(min=0).view(groups, 1, 1).expand(groups, group_size, 1)
    final = l.detach().gather(2, last).squeeze(-1)
    return GnivoLossTerms(loss, group_loss.detach(), target, final, valid)


def _apply_sample_weights(target: torch.Tensor, l: torch.Tensor, sample_weights: torch.Tensor, weights: str):
    """Targets and logits corrected by per-response weights c_i (see the module docstring and docs/algorithm.md).

    Returns (target, logits, kept, has_signal): a response with c_i = 0 is kept out of both; in a group
    where every c_i = 0 all stay "kept" with a zero target, so its softmax stays finite, and has_signal
    (per group) is False so the caller drops the group.
    """
    c = sample_weights.detach().to(l.dtype).reshape(target.shape)
    if (c < 0).any() or not torch.isfinite(c).all():
        raise ValueError("sample_weights must be finite and >= 0")
    kept = c > 0
    target = target * c
    if weights == "normalized":
        target = target / target.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(target.dtype).tiny)
    log_c = torch.where(kept, c.clamp_min(torch.finfo(c.dtype).tiny).log(), torch.zeros_like(c))
    logits = (l + log_c.unsqueeze(-1)).masked_fill(~kept.unsqueeze(-1), float("-inf"))
    nobody = ~kept.any(dim=1, keepdim=True)
    logits = torch.where(nobody.unsqueeze(-1), l, logits)
    return target, logits, kept | nobody, ~nobody.squeeze(1)


def gnivo_loss(
    logps: torch.Tensor,
    old_logps: torch.Tensor,
    mask: torch.Tensor,
    rewards: torch.Tensor,
    *,
    group_size: int,
    alpha: float,
    prefix: PrefixMode = "all",
    weights: WeightMode = "normalized",
    step_ends: Sequence[Sequence[int]] | torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    sample_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """The GN-IVO loss for consecutive groups of `group_size` rows (the scalar; the trainer adds beta * KL).

    Args:
        logps: (B, T) per-token log-probs of the completions under the current policy.
        old_logps: (B, T) the same under pi_old (the sampling policy), no gradient.
        mask: (B, T) completion mask: 1 on real completion tokens, 0 on padding.
        rewards: (B,) scalar reward per completion.
        group_size: K, the responses per prompt; rows [gK, (g+1)K) form group g.
        alpha: temperature of the target softmax(R / alpha).
        prefix: which prefix points count: `final` (the whole response), `sample` (one point per group,
            uniform over its points) or `all` (every point, averaged).
        weights: `normalized` targets softmax(R/alpha), or the paper's Eq. 9 `exp` weights exp(R/alpha).
        step_ends: for the `step` unit, per row the 0-based positions of the tokens that end a step.
        generator: random source for `prefix="sample"`.
        sample_weights: (B,) per-response importance weights c_i >= 0 for samples drawn from another
            sampler than pi_old (vLLM); 0 drops the response from its group. None: all 1.
    """
    return gnivo_loss_terms(
        logps,
        old_logps,
        mask,
        rewards,
        group_size=group_size,
        alpha=alpha,
        prefix=prefix,
        weights=weights,
        step_ends=step_ends,
        generator=generator,
        sample_weights=sample_weights,
    ).loss


def _prefix_selection(
    group_points: torch.Tensor, width: int, prefix: str, generator: torch.Generator | None
) -> torch.Tensor:
    """A (G, P) 0/1 mask of the prefix points each group averages over."""
    index = torch.arange(width, device=group_points.device).unsqueeze(0)  # (1, P)
    available = index < group_points.unsqueeze(1)
    if prefix == "all":
        return available
    if prefix == "final":
        return index == (group_points - 1).unsqueeze(1)
    # "sample": t ~ U{1..P_g}, drawn on the CPU so results do not depend on the device.
    uniform = torch.rand(group_points.shape[0], generator=generator)
    drawn = (uniform * group_points.cpu().float()).long().to(group_points.device)
    return (index == drawn.unsqueeze(1)) & available


def _check_shapes(logps, old_logps, mask, rewards, group_size: int, alpha: float, prefix: str) -> None:
    if logps.dim() != 2 or old_logps.shape != logps.shape or mask.shape != logps.shape:
        raise ValueError(
            f"logps, old_logps and mask must share one (B, T) shape, got "
            f"{tuple(logps.shape)}, {tuple(old_logps.shape)}, {tuple(mask.shape)}"
        )
    if rewards.shape != (logps.shape[0],):
        raise ValueError(f"rewards must have shape ({logps.shape[0]},), got {tuple(rewards.shape)}")
    if problem := group_size_problem(group_size) or whole_groups_problem(logps.shape[0], group_size):
        raise ValueError(f"group_size {problem}" if group_size < 2 else f"batch of {logps.shape[0]} rows: {problem}")
    if problem := alpha_problem(alpha):
        raise ValueError(f"alpha {problem}")
    if prefix not in PREFIX_MODES:
        raise ValueError(f"prefix must be one of {PREFIX_MODES}, got {prefix!r}")


def masked_k3_kl(
    logps: torch.Tensor, ref_logps: torch.Tensor, mask: torch.Tensor, ratio: torch.Tensor | None = None
) -> torch.Tensor:
    """Masked token mean of the k3 estimator exp(ref - logp) - (ref - logp) - 1 (as trl's GRPO).

    `ratio` (B, T): trl's bias correction, each token's k3 times pi_theta / pi_old (with its gradient).
    """
    delta = ref_logps - logps
    per_token = torch.exp(delta) - delta - 1
    if ratio is not None:
        per_token = per_token * ratio
    mask = mask.to(per_token.dtype)
    return (per_token * mask).sum() / mask.sum().clamp(min=1)
