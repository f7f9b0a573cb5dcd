"""The statistics comparisons report (gnivo_cli/compare/statistics.py): t quantiles, intervals of a
difference and their verdicts, samples-to-threshold per seed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gnivo_cli.compare.statistics import (
    crossings,
    difference,
    first_crossing,
    paired_difference,
    reached_difference,
    reached_summary,
    spread,
    t_cdf,
    t_quantile,
    welch_difference,
)


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.706205), (2, 4.302653), (4, 2.776445), (9, 2.262157), (30, 2.042272), (1e6, 1.959966)],
)
def test_t_quantile_matches_the_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=2e-6)
    assert t_quantile(0.025, df) == pytest.approx(-expected, abs=2e-6)


def test_t_cdf_is_symmetric_and_inverts_the_quantile():
    assert t_cdf(0.0, 3) == pytest.approx(0.5)
    assert t_cdf(1.3, 2.5) + t_cdf(-1.3, 2.5) == pytest.approx(1.0)
    assert t_cdf(t_quantile(0.9, 7.3), 7.3) == pytest.approx(0.9)
    # df 1 is the Cauchy distribution: P(T <= t) = 1/2 + atan(t)/pi.
    assert t_cdf(2.0, 1) == pytest.approx(0.5 + math.atan(2.0) / math.pi)
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)


def test_a_paired_interval_on_constructed_data():
    a = {0: 1.0, 1: 2.0, 2: 3.0, 9: 5.0}  # seed 9 has no partner: left out
    b = {0: 0.5, 1: 1.0, 2: 2.0}
    d = paired_difference(a, b)
    diffs = np.array([0.5, 1.0, 1.0])
    half = 4.302653 * diffs.std(ddof=1) / math.sqrt(3)
    assert (d.n, d.method) == (3, "paired t")
    assert d.mean == pytest.approx(diffs.mean()) and d.std == pytest.approx(diffs.std(ddof=1))
    assert (d.low, d.high) == (pytest.approx(diffs.mean() - half), pytest.approx(diffs.mean() + half))
    assert d.verdict() == "ahead" and d.verdict(higher_is_better=False) == "behind"
    assert d.format(2) == "+0.83 [+0.12, +1.55] ahead"
    assert paired_difference(b, a).verdict() == "behind"


def test_level_when_the_interval_holds_zero():
    d = paired_difference({0: 1.0, 1: 0.0, 2: 0.5}, {0: 0.0, 1: 1.0, 2: 0.0})
    assert d.low < 0 < d.high and d.verdict() == "level" and d.verdict(higher_is_better=False) == "level"
    # The same mean gap that is "ahead" when paired per seed is "level" with a seed-to-seed spread this large.
    a, b = {0: 0.1, 1: 0.52, 2: 0.9}, {0: 0.0, 1: 0.4, 2: 0.8}
    assert paired_difference(a, b).verdict() == "ahead"
    assert welch_difference(list(a.values()), list(b.values())).verdict() == "level"


def test_pairing_removes_the_seed_effect():
    a, b = {0: 0.12, 1: 0.525, 2: 0.93}, {0: 0.10, 1: 0.50, 2: 0.90}
    assert difference(a, b).method == "paired t" and difference(a, b).verdict() == "ahead"
    # No shared seeds: Welch's interval over all seeds, which cannot see the pairing.
    moved = {seed + 10: value for seed, value in b.items()}
    assert difference(a, moved).method == "Welch t" and difference(a, moved).verdict() == "level"
    assert difference({0: 1.0}, {0: 0.0}) is None  # one seed: no interval


def test_welch_interval_matches_its_formula():
    x, y = [1.0, 2.0, 4.0], [0.0, 0.5, 0.4, 0.3]
    d = welch_difference(x, y)
    vx, vy = np.var(x, ddof=1) / 3, np.var(y, ddof=1) / 4
    df = (vx + vy) ** 2 / (vx**2 / 2 + vy**2 / 3)
    half = t_quantile(0.975, df) * math.sqrt(vx + vy)
    assert d.mean == pytest.approx(np.mean(x) - np.mean(y))
    assert d.high - d.low == pytest.approx(2 * half)


def test_paired_intervals_cover_the_true_difference_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(2000):
        seed_effect = rng.normal(0, 1, 5)
        a = dict(enumerate(seed_effect + 0.3 + rng.normal(0, 0.2, 5)))
        b = dict(enumerate(seed_effect + rng.normal(0, 0.2, 5)))
        d = paired_difference(a, b)
        covered += d.low <= 0.3 <= d.high
    assert 0.935 <= covered / 2000 <= 0.965


def test_spread_is_mean_and_sample_std():
    s = spread([1.0, 2.0, 4.0, float("nan")])
    assert (s.mean, s.n) == (pytest.approx(7 / 3), 3) and s.std == pytest.approx(np.std([1, 2, 4], ddof=1))
    assert spread([0.5]).std is None and spread([0.5]).format() == "0.500"
    assert spread([]) is None


def test_samples_to_threshold_per_seed():
    x = [0, 100, 200, 300]
    assert first_crossing(x, [0.0, 0.2, 0.6, 0.9], 0.5) == 200
    assert first_crossing(x, [0.0, 0.2, 0.6, 0.9], 0.5, interpolate=True) == pytest.approx(175)
    assert first_crossing(x, [0.7, 0.2, 0.6, 0.9], 0.5, interpolate=True) == 0
    assert first_crossing(x, [0.0, 0.1, 0.2, 0.3], 0.5) is None
    per_seed = crossings({0: (x, [0.0, 0.6, 0.6, 0.6]), 1: (x, [0.0, 0.0, 0.0, 0.9]), 2: (x, [0.0] * 4)}, 0.5)
    assert per_seed == {0: 100, 1: 300, 2: None}
    assert reached_summary(per_seed) == "200 ± 141 (2/3 seeds)"
    assert reached_summary({0: 100.0}) == "100" and reached_summary({0: None}) == "not reached"


def test_samples_to_threshold_differences_pair_only_seeds_both_reached():
    a = {0: 100.0, 1: 200.0, 2: None, 3: 150.0}
    b = {0: 300.0, 1: 400.0, 2: 250.0, 3: None}
    d = reached_difference(a, b)  # seeds 0 and 1 only
    assert (d.n, d.mean, d.std) == (2, -200.0, 0.0)
    more = reached_difference({**a, 3: 170.0}, {**b, 3: 400.0})
    assert more.n == 3 and more.mean == pytest.approx((-200 - 200 - 230) / 3)
    assert more.verdict(higher_is_better=False) == "ahead"  # fewer samples to the threshold
    assert reached_difference({0: None, 1: 5.0}, {0: 1.0, 1: None}) is None
