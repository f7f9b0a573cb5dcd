"""Implicit values from per-token log-probabilities: pure numpy, no model, no trl.

For a completion y_1..y_T of a prompt x, with the policy π_θ and its reference π_ref:

    r_j  = log π_θ(y_j | x, y<j) − log π_ref(y_j | x, y<j)      the token's log-ratio
    q_t  = r_1 + ... + r_t                                     the prefix value after token t
    q(s) = q at the last token of step s                       the step's value (ImplicitPRM's accumulative reading)
    q(s) − q(s−1), with q(0) = 0 (the prompt)                  the step's change (its "single" reading)

A completion's score is its lowest step value (ImplicitPRM ranks responses by it) or its final value q_T.
Steps end where GN-IVO's `step` unit ends them (`step_boundaries.step_ends`); with the `token` unit every
token is a step. Every value is multiplied by `scale`: α for a GN-IVO recipe, where α·q(y<t) estimates
V(x, y<t) − V(x) in reward units (docs/values.md says when that scale can be trusted; ranks always can).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CompletionValues:
    """The implicit values of one completion; all but `log_ratios` are multiplied by `scale`."""

    log_ratios: tuple[float, ...]  # r_j per token, in nats (unscaled)
    values: tuple[float, ...]  # scale · q_t after each token
    step_ends: tuple[int, ...]  # 0-based index of each step's last token
    step_values: tuple[float, ...]  # scale · q(s)
    step_changes: tuple[float, ...]  # scale · (q(s) − q(s−1))
    scale: float = 1.0

    @property
    def min_step_value(self) -> float:
        """The lowest step value (0, the prompt's own value, for an empty completion)."""
        return min(self.step_values, default=0.0)

    @property
    def lowest_step(self) -> int:
        """0-based index of the step with the lowest value (the first of equals); -1 without steps."""
        return int(np.argmin(self.step_values)) if self.step_values else -1

    @property
    def final_value(self) -> float:
        return self.values[-1] if self.values else 0.0

    def step_of_token(self) -> list[int]:
        """For each token, the 0-based index of the step it belongs to."""
        owners, step = [], 0
        for index in range(len(self.values)):
            while step < len(self.step_ends) - 1 and index > self.step_ends[step]:
                step += 1
            owners.append(step)
        return owners


def token_log_ratios(policy_logps: Sequence[float], ref_logps: Sequence[float]) -> np.ndarray:
    """r_j = log π_θ − log π_ref per token (float64)."""
    policy = np.asarray(policy_logps, dtype=np.float64)
    reference = np.asarray(ref_logps, dtype=np.float64)
    if policy.shape != reference.shape or policy.ndim != 1:
        raise ValueError(
            f"per-token log-probs must be two equal 1-d sequences, got {policy.shape} and {reference.shape}"
        )
    return policy - reference


def prefix_values(log_ratios: Sequence[float]) -> np.ndarray:
    """q_t for t = 1..T: the running sum of the token log-ratios."""
    return np.cumsum(np.asarray(log_ratios, dtype=np.float64))


def token_step_ends(length: int) -> list[int]:
    """The `token` unit: every token ends a step."""
    return list(range(length))


def step_values(prefix: Sequence[float], step_ends: Sequence[int]) -> np.ndarray:
    """q(s): the prefix value at the last token of each step."""
    prefix = np.asarray(prefix, dtype=np.float64)
    ends = np.asarray(step_ends, dtype=np.int64)
    if ends.size and (ends.min() < 0 or ends.max() >= prefix.size or np.any(np.diff(ends) <= 0)):
        raise ValueError(f"step ends must increase within the {prefix.size} tokens, got {list(step_ends)}")
    return prefix[ends] if ends.size else np.zeros(0)


def step_changes(values_at_steps: Sequence[float]) -> np.ndarray:
    """q(s) − q(s−1), with q(0) = 0: what each step itself added."""
    values = np.asarray(values_at_steps, dtype=np.float64)
    return np.diff(values, prepend=0.0)


def completion_values(
    policy_logps: Sequence[float], ref_logps: Sequence[float], step_ends: Sequence[int] | None, *, scale: float = 1.0
) -> CompletionValues:
    """Everything above for one completion; `step_ends` None is the `token` unit."""
    ratios = token_log_ratios(policy_logps, ref_logps)
    prefix = prefix_values(ratios)
    ends = token_step_ends(len(ratios)) if step_ends is None else list(step_ends)
    at_steps = step_values(prefix, ends)
    return CompletionValues(
        log_ratios=tuple(ratios.tolist()),
        values=tuple((scale * prefix).tolist()),
        step_ends=tuple(int(end) for end in ends),
        step_values=tuple((scale * at_steps).tolist()),
        step_changes=tuple((scale * step_changes(at_steps)).tolist()),
        scale=scale,
    )


def first_step_below(step_values_: Sequence[float], threshold: float) -> int:
    """0-based index of the first step whose value is below `threshold`; -1 when none is
    (ProcessBench's first-error prediction from a value model)."""
    for index, value in enumerate(step_values_):
        if value < threshold:
            return index
    return -1
