"""The statistics every comparison gnivo publishes reports: mean ± std over seeds, a 95 % interval of a
difference between two methods with its verdict, and samples-to-threshold per seed.

Pure functions over numbers (numpy and the standard library only), shared by `gnivo compare`'s table and
the benchmark scripts, so a table and a benchmark cannot compute "ahead" two ways.

The interval of a difference is a Student t interval: paired by seed where the two methods share at
least two seeds (the seed fixes the first batch's prompts and the sampler, so runs of one seed are
paired), Welch's unpaired interval otherwise. "ahead" and "behind" are said only where the interval
excludes 0; otherwise the two are "level".
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Verdict = Literal["ahead", "behind", "level"]

__all__ = [
    "Difference",
    "Spread",
    "crossings",
    "difference",
    "first_crossing",
    "paired_difference",
    "reached_difference",
    "reached_summary",
    "spread",
    "t_cdf",
    "t_quantile",
    "welch_difference",
]


@dataclass(frozen=True)
class Spread:
    """Mean and sample standard deviation (ddof 1; None for one value) of some values."""

    mean: float
    std: float | None
    n: int

    def format(self, digits: int = 3) -> str:
        return f"{self.mean:.{digits}f}" if self.std is None else f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


def spread(values: Sequence[float]) -> Spread | None:
    """Mean ± std of the finite values; None when there are none."""
    kept = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if kept.size == 0:
        return None
    return Spread(float(kept.mean()), float(kept.std(ddof=1)) if kept.size > 1 else None, int(kept.size))


# ---- Student t ------------------------------------------------------------------------------------------


def _incomplete_beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 400):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def _regularized_beta(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _incomplete_beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _incomplete_beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` (> 0, not necessarily whole) degrees of freedom."""
    tail = 0.5 * _regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(probability: float, df: float) -> float:
    """The t with P(T <= t) = probability (bisection on the exact CDF; e.g. 2.776 for 0.975 and df 4)."""
    if not 0.0 < probability < 1.0 or df <= 0:
        raise ValueError(f"t_quantile needs 0 < probability < 1 and df > 0, got {probability}, {df}")
    if probability < 0.5:
        return -t_quantile(1.0 - probability, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < probability:
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        low, high = (middle, high) if t_cdf(middle, df) < probability else (low, middle)
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2.0


# ---- differences ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """a − b: its mean, the std of the per-seed differences (paired) or None (Welch), a two-sided interval."""

    mean: float
    std: float | None
    low: float
    high: float
    n: int  # pairs (paired), or the smaller sample (Welch)
    method: Literal["paired t", "Welch t"]
    level: float = 0.95

    def verdict(self, *, higher_is_better: bool = True) -> Verdict:
        """'ahead' or 'behind' only where the interval excludes 0, else 'level'."""
        if self.low > 0:
            return "ahead" if higher_is_better else "behind"
        if self.high < 0:
            return "behind" if higher_is_better else "ahead"
        return "level"

    def format(self, digits: int = 3, *, higher_is_better: bool = True) -> str:
        """`+0.012 [-0.004, +0.028] level`."""
        return (
            f"{self.mean:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}] "
            f"{self.verdict(higher_is_better=higher_is_better)}"
        )


def paired_difference(a: Mapping[Hashable, float], b: Mapping[Hashable, float], level: float = 0.95):
    """a − b over the keys (seeds) both have, with a paired t interval; None below two pairs."""
    keys = [k for k in a if k in b and _finite(a[k]) and _finite(b[k])]
    if len(keys) < 2:
        return None
    diffs = np.asarray([a[k] - b[k] for k in keys], dtype=float)
    mean, std = float(diffs.mean()), float(diffs.std(ddof=1))
    half = t_quantile(0.5 + level / 2.0, len(keys) - 1) * std / math.sqrt(len(keys))
    return Difference(mean, std, mean - half, mean + half, len(keys), "paired t", level)


def welch_difference(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Difference | None:
    """mean(a) − mean(b) with Welch's t interval (unequal variances); None unless each has two values."""
    x = np.asarray([v for v in a if _finite(v)], dtype=float)
    y = np.asarray([v for v in b if _finite(v)], dtype=float)
    if x.size < 2 or y.size < 2:
        return None
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    mean = float(x.mean() - y.mean())
    if vx + vy == 0:
        return Difference(mean, None, mean, mean, int(min(x.size, y.size)), "Welch t", level)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    half = t_quantile(0.5 + level / 2.0, df) * math.sqrt(vx + vy)
    return Difference(mean, None, mean - half, mean + half, int(min(x.size, y.size)), "Welch t", level)


def difference(a: Mapping[Hashable, float], b: Mapping[Hashable, float], level: float = 0.95):
    """a − b per seed: paired where at least two seeds are shared, else Welch over all seeds; None if neither."""
    paired = paired_difference(a, b, level)
    return paired if paired is not None else welch_difference(list(a.values()), list(b.values()), level)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


# ---- thresholds -----------------------------------------------------------------------------------------


def first_crossing(
    x: Sequence[float], y: Sequence[float], threshold: float, *, interpolate: bool = False
) -> float | None:
    """The first x where y reaches `threshold` (linear between points with `interpolate`); None if never."""
    for index, value in enumerate(y):
        if value >= threshold:
            if not interpolate or index == 0:
                return float(x[index])
            x0, x1, y0 = x[index - 1], x[index], y[index - 1]
            return float(x0 + (x1 - x0) * (threshold - y0) / (value - y0))
    return None


def reached_difference(
    a: Mapping[Hashable, float | None], b: Mapping[Hashable, float | None], level: float = 0.95
) -> Difference | None:
    """a − b of samples-to-threshold, paired over the seeds where both reached it (None: not reached)."""
    both = [seed for seed in a if a[seed] is not None and b.get(seed) is not None]
    return paired_difference({s: a[s] for s in both}, {s: b[s] for s in both}, level)


def reached_summary(per_seed: Mapping[Hashable, float | None]) -> str:
    """`1234 ± 56`, with `(4/5 seeds)` when some seeds never reached the threshold, or `not reached`."""
    values = [v for v in per_seed.values() if v is not None]
    found = spread(values)
    if found is None:
        return "not reached"
    text = f"{found.mean:.0f}" if found.std is None else f"{found.mean:.0f} ± {found.std:.0f}"
    return text if len(values) == len(per_seed) else f"{text} ({len(values)}/{len(per_seed)} seeds)"


def crossings(
    curves: Mapping[Hashable, tuple[Sequence[float], Sequence[float]]], threshold: float, *, interpolate: bool = False
) -> dict[Hashable, float | None]:
    """Per seed, the first x where that seed's own curve (x, y) reaches `threshold` (None: never)."""
    return {seed: first_crossing(x, y, threshold, interpolate=interpolate) for seed, (x, y) in curves.items()}
