"""pass@k (unbiased estimator) and avg@n against hand-computed values."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from gnivo_cli.evaluation.passk import avg_at_n, mean_pass_at_k, pass_at_k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 0, 1, 0.0),  # n = k = 1: plain accuracy
        (1, 1, 1, 1.0),
        (3, 1, 1, 1 / 3),  # pass@1 is the fraction correct
        (3, 2, 1, 2 / 3),
        (3, 1, 3, 1.0),  # n = k: solved if any sample is correct
        (3, 0, 3, 0.0),
        (3, 1, 2, 1 - 1 / 3),  # C(2,2)/C(3,2) = 1/3 of the pairs miss
        (5, 2, 2, 1 - 3 / 10),  # C(3,2)/C(5,2) = 3/10
        (4, 1, 2, 1 - 3 / 6),  # C(3,2)/C(4,2) = 3/6
        (10, 3, 5, 1 - 21 / 252),  # C(7,5)/C(10,5) = 21/252
        (16, 0, 8, 0.0),  # c = 0: never solved
        (16, 16, 8, 1.0),  # c = n: always solved
        (8, 6, 3, 1.0),  # n - c < k: every 3-subset holds a correct sample
    ],
)
def test_pass_at_k_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_the_binomial_form_exactly():
    for n in range(1, 13):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
                assert pass_at_k(n, c, k) == pytest.approx(float(exact), abs=1e-12), (n, c, k)


def test_pass_at_k_grows_with_k_and_with_c():
    n = 10
    for c in range(n + 1):
        values = [pass_at_k(n, c, k) for k in range(1, n + 1)]
        assert values == sorted(values)
    for k in (1, 4):
        values = [pass_at_k(n, c, k) for c in range(n + 1)]
        assert values == sorted(values)


def test_large_n_stays_finite_and_exact():
    # The binomial form would build numbers with hundreds of digits; the product form does not.
    value = pass_at_k(1000, 1, 1)
    assert value == pytest.approx(1 / 1000)
    assert 0.0 <= pass_at_k(1000, 500, 10) <= 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(2, 1, 3), (3, 4, 1), (3, -1, 1), (3, 1, 0)])
def test_invalid_arguments_are_rejected(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_mean_pass_at_k_averages_over_problems():
    # Three problems with 3 samples: 0, 1 and 3 correct.
    counts = [0, 1, 3]
    assert mean_pass_at_k(counts, 3, 1) == pytest.approx((0 + 1 / 3 + 1) / 3)
    assert mean_pass_at_k(counts, 3, 3) == pytest.approx((0 + 1 + 1) / 3)
    assert mean_pass_at_k(counts, 3, 2) == pytest.approx((0 + 2 / 3 + 1) / 3)


def test_avg_at_n_is_the_fraction_of_correct_samples():
    assert avg_at_n([0, 1, 3], 3) == pytest.approx(4 / 9)
    assert avg_at_n([2, 2], 4) == pytest.approx(0.5)
    # With one sample per problem avg@1 and pass@1 are both plain accuracy.
    assert avg_at_n([1, 0, 1, 1], 1) == mean_pass_at_k([1, 0, 1, 1], 1, 1) == 0.75


def test_empty_inputs_are_rejected():
    with pytest.raises(ValueError):
        mean_pass_at_k([], 3, 1)
    with pytest.raises(ValueError):
        avg_at_n([], 3)
