"""Estimators over n samples per problem of what k samples would give, each unbiased (exact over every
k-subset of the n, as the Codex paper's pass@k):

- pass@k (Chen et al. 2021): with c of n correct, 1 - C(n-c, k) / C(n, k), the chance that at least one of
  k samples drawn without replacement is correct; the product form never builds the huge binomials;
- avg@n: the mean accuracy over all samples;
- maj@k: the chance that a majority vote over k samples is right (ties broken uniformly at random);
- best-of-k by a score: the expected value of the sample a reranker picks from k (e.g. the implicit value).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from math import comb


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


def majority_at_k(correct: int, wrong: Sequence[int], abstained: int, k: int) -> float:
    """maj@k for one problem: the chance that a majority vote over k samples drawn without replacement from the
    n picks the right answer, with ties broken uniformly at random (a tie with t wrong answers counts 1/(t+1)).

    `correct` samples hold the right answer, `wrong[i]` samples the i-th distinct wrong answer, `abstained`
    samples no answer at all (they do not vote); n is their sum. With k = n it is the plain vote over all samples.

    Exact: for each count m >= 1 of right answers in the subset, the ways the other groups can fill the rest
    with fewer than m votes each, or exactly m (a tie), are the coefficients of a product of polynomials.
    """
    n = correct + sum(wrong) + abstained
    _check_k(n, k)
    total = Fraction(0)
    for m in range(1, min(k, correct) + 1):
        # polynomial over (subset size, groups tied at m): ways[(size, ties)]
        ways: dict[tuple[int, int], int] = {(j, 0): comb(abstained, j) for j in range(min(abstained, k - m) + 1)}
        for size in wrong:
            grown: dict[tuple[int, int], int] = {}
            for (taken, ties), count in ways.items():
                for j in range(min(size, m, k - m - taken) + 1):
                    key = (taken + j, ties + (j == m))
                    grown[key] = grown.get(key, 0) + count * comb(size, j)
            ways = grown
        total += comb(correct, m) * sum(
            Fraction(count, ties + 1) for (taken, ties), count in ways.items() if taken == k - m
        )
    return float(total / comb(n, k))


def best_of_k(scores: Sequence[float], values: Sequence[float], k: int) -> float:
    """The expected value of the best-scored of k samples drawn without replacement from the n (a reranker's
    pick), with ties in score broken uniformly at random: unbiased for "best of k", as pass@k is for "any of k".

    Sort the samples by score. A group of t tied samples with b samples scored strictly lower holds the subset's
    best with probability (C(b + t, k) - C(b, k)) / C(n, k), shared equally by its t samples; without ties that
    is C(rank - 1, k - 1) / C(n, k) for the sample of (1-based, ascending) rank `rank`.
    """
    if len(scores) != len(values):
        raise ValueError(f"{len(scores)} scores for {len(values)} values")
    n = len(scores)
    _check_k(n, k)
    ordered = sorted(zip(scores, values, strict=True), key=lambda pair: pair[0])
    total, below, start = Fraction(0), 0, 0
    while start < n:
        end = start
        while end < n and ordered[end][0] == ordered[start][0]:
            end += 1
        tied = end - start
        chance = Fraction(comb(below + tied, k) - comb(below, k), comb(n, k))
        total += chance * Fraction(sum(Fraction(value) for _, value in ordered[start:end]), tied)
        below, start = below + tied, end
    return float(total)


def _check_k(n: int, k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if n < k:
        raise ValueError(f"k={k} needs at least {k} samples, got n={n}")
