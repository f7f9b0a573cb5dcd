"""maj@k and best-of-k by a score (gnivo_cli/evaluation/passk.py) against brute-force enumeration of every
k-subset of the n samples, ties included."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from fractions import Fraction

import pytest

from gnivo_cli.evaluation.passk import best_of_k, majority_at_k


def brute_majority(answers: list[str | None], right: str, k: int) -> Fraction:
    """Mean over every k-subset of the chance that its vote picks `right`, ties broken uniformly."""
    total, subsets = Fraction(0), 0
    for subset in itertools.combinations(answers, k):
        votes = Counter(answer for answer in subset if answer is not None)
        subsets += 1
        if not votes:
            continue
        top = max(votes.values())
        winners = [answer for answer, count in votes.items() if count == top]
        total += Fraction(int(right in winners), len(winners))
    return total / subsets


def brute_best(scores: list[float], values: list[float], k: int) -> Fraction:
    """Mean over every k-subset of the value of its best-scored sample, ties broken uniformly."""
    total, subsets = Fraction(0), 0
    for subset in itertools.combinations(range(len(scores)), k):
        top = max(scores[i] for i in subset)
        tied = [i for i in subset if scores[i] == top]
        total += sum(Fraction(values[i]) for i in tied) / len(tied)
        subsets += 1
    return total / subsets


def test_majority_against_every_subset():
    rng = random.Random(7)
    for _ in range(60):
        n = rng.randint(1, 8)
        answers = [rng.choice(["right", "a", "b", "c", None]) for _ in range(n)]
        groups = Counter(answers)
        wrong = [count for answer, count in groups.items() if answer not in ("right", None)]
        for k in range(1, n + 1):
            expected = brute_majority(answers, "right", k)
            got = majority_at_k(groups["right"], wrong, groups[None], k)
            assert got == pytest.approx(float(expected), abs=1e-12), (answers, k)


@pytest.mark.parametrize(
    ("correct", "wrong", "abstained", "k", "expected"),
    [
        (3, [], 0, 3, 1.0),  # all agree and are right
        (0, [3], 0, 2, 0.0),  # never right
        (2, [2], 0, 4, 0.5),  # 2 against 2 over all samples: a coin flip
        (1, [1, 1], 0, 3, 1 / 3),  # three-way tie
        (1, [], 2, 3, 1.0),  # the only vote is right; no-answer samples do not vote
        (0, [], 3, 2, 0.0),  # nobody answers: no majority
        (2, [1], 0, 1, 2 / 3),  # maj@1 is the share of right answers
    ],
)
def test_majority_hand_computed(correct, wrong, abstained, k, expected):
    assert majority_at_k(correct, wrong, abstained, k) == pytest.approx(expected)


def test_best_of_k_against_every_subset_with_ties():
    rng = random.Random(11)
    for _ in range(60):
        n = rng.randint(1, 8)
        scores = [rng.choice([-1.0, -0.5, 0.0, 0.25, 1.0]) for _ in range(n)]  # few levels: many ties
        values = [float(rng.random() < 0.5) for _ in range(n)]
        for k in range(1, n + 1):
            assert best_of_k(scores, values, k) == pytest.approx(float(brute_best(scores, values, k)), abs=1e-12)


def test_best_of_k_without_ties_is_the_rank_formula():
    from math import comb

    scores, values = [0.3, -1.0, 2.0, 0.7, 0.1], [0.0, 1.0, 1.0, 0.0, 1.0]
    k = 3
    ranked = sorted(zip(scores, values, strict=True))
    expected = sum(comb(rank - 1, k - 1) * value for rank, (_, value) in enumerate(ranked, start=1)) / comb(5, k)
    assert best_of_k(scores, values, k) == pytest.approx(expected)
    assert best_of_k(scores, values, 1) == pytest.approx(sum(values) / 5)  # k = 1: a random pick
    assert best_of_k(scores, values, 5) == 1.0  # k = n: the top-scored sample (score 2.0) is correct


@pytest.mark.parametrize("call", [lambda: best_of_k([1.0], [1.0], 2), lambda: majority_at_k(1, [], 0, 0)])
def test_impossible_k_is_refused(call):
    with pytest.raises(ValueError, match="k"):
        call()
