"""pass@k with the unbiased estimator of Chen et al. (2021), and avg@n.

With n samples of which c are correct, pass@k = 1 - C(n-c, k) / C(n, k): the chance that at least one
of k samples drawn without replacement from the n is correct. The product form below never builds the
huge binomials, so it stays exact enough for any n.
"""

from __future__ import annotations

from collections.abc import Iterable


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem: 1 - prod_{i=n-c+1..n} (1 - k/i)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if n < k:
        raise ValueError(f"pass@{k} needs at least {k} samples, got n={n}")
    if not 0 <= c <= n:
        raise ValueError(f"the number correct must lie in [0, n={n}], got c={c}")
    if n - c < k:  # every k-subset holds a correct sample
        return 1.0
    missed = 1.0
    for i in range(n - c + 1, n + 1):
        missed *= 1.0 - k / i
    return 1.0 - missed


def mean_pass_at_k(correct_counts: Iterable[int], n: int, k: int) -> float:
    """pass@k averaged over problems, each with n samples and `correct_counts[j]` correct."""
    counts = list(correct_counts)
    if not counts:
        raise ValueError("no problems to score")
    return sum(pass_at_k(n, c, k) for c in counts) / len(counts)


def avg_at_n(correct_counts: Iterable[int], n: int) -> float:
    """Mean accuracy over all samples: the fraction of the problems x n samples that are correct."""
    counts = list(correct_counts)
    if not counts:
        raise ValueError("no problems to score")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return sum(counts) / (n * len(counts))
