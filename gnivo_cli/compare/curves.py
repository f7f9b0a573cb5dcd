"""Learning curves of training runs: aggregate over seeds, and the statistics a comparison reports.

Runs (`gnivo_cli.compare.run_records`) are grouped by algorithm; each group's seeds give a mean curve and a band (± one
standard deviation). Used by `gnivo compare` and `gnivo plot`; the table is drawn by
`gnivo_cli.compare.table`, the figure by `gnivo_cli.compare.plot`. Reads files only (no torch).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from gnivo_cli.algorithms.table import ALGORITHMS
from gnivo_cli.compare.run_records import Run
from gnivo_cli.compare.statistics import first_crossing, spread
from gnivo_cli.errors import GnivoError

__all__ = [
    "AlgorithmStats",
    "Comparison",
    "Curve",
    "compare_runs",
    "curve",
    "final_reward",
    "group_runs",
    "reward_auc",
    "smooth",
]

#: Algorithms in the order tables and legends list them: the algorithm table's (others follow, alphabetically).
KNOWN_ORDER = tuple(ALGORITHMS)


@dataclass
class Curve:
    """One metric of one algorithm, aggregated over its seeds at each x."""

    x: np.ndarray
    mean: np.ndarray
    std: np.ndarray  # NaN where fewer than two seeds reached that x
    count: np.ndarray  # seeds contributing at each x


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over `window` points (shorter at the start)."""
    if window <= 1 or values.size == 0:
        return values
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(1, values.size + 1)
    start = np.maximum(index - window, 0)
    return (cumulative[index] - cumulative[start]) / (index - start)


def curve(runs: Sequence[Run], key: str, *, window: int = 1, x: str = "step") -> Curve | None:
    """Mean and std over seeds of `key` (each seed smoothed first) against `step` or `num_samples`.

    Seeds are aligned by optimizer step; against `num_samples` each step is placed at the seeds' mean
    number of generated samples so far (identical across seeds when the budget is the same).
    """
    by_step: dict[float, list[float]] = {}
    samples_at: dict[float, list[float]] = {}
    for run in runs:
        steps, values = run.series(key)
        for step, value in zip(steps, smooth(values, window), strict=True):
            by_step.setdefault(step, []).append(value)
        if x == "num_samples":
            for step, samples in zip(*run.series("num_samples"), strict=True):
                samples_at.setdefault(step, []).append(samples)
    steps = sorted(by_step)
    if x == "num_samples":
        steps = [s for s in steps if s in samples_at]
    if not steps:
        return None
    groups = [np.asarray(by_step[s]) for s in steps]
    positions = [float(np.mean(samples_at[s])) for s in steps] if x == "num_samples" else steps
    return Curve(
        x=np.asarray(positions, dtype=float),
        mean=np.asarray([g.mean() for g in groups]),
        std=np.asarray([g.std(ddof=1) if g.size > 1 else math.nan for g in groups]),
        count=np.asarray([g.size for g in groups]),
    )


def final_reward(run: Run, key: str = "reward") -> float | None:
    """Mean reward (or another metric) over the last quarter of the run's steps (at least one step), as
    `gnivo train` reports."""
    _, rewards = run.series(key)
    if rewards.size == 0:
        return None
    return float(rewards[-max(1, rewards.size // 4) :].mean())


def reward_auc(run: Run) -> float | None:
    """Area under the reward-vs-step curve divided by the steps it spans: the mean reward over training."""
    steps, rewards = run.series("reward")
    if rewards.size == 0:
        return None
    if rewards.size == 1:
        return float(rewards[0])
    area = float(np.sum((rewards[1:] + rewards[:-1]) / 2 * np.diff(steps)))
    return area / float(steps[-1] - steps[0])


@dataclass
class AlgorithmStats:
    """One table row: an algorithm over its seeds."""

    algorithm: str
    seeds: list[int | None]
    steps: int  # optimizer steps of the longest run
    final_reward: float | None
    final_reward_std: float | None
    reward_auc: float | None
    reward_auc_std: float | None
    steps_to_threshold: float | None  # mean over the seeds whose own curve reached it; None: none did
    samples_to_threshold: float | None
    median_step_time: float | None
    peak_memory_mb: float | None
    samples: float | None  # completions generated per run (mean over seeds)
    steps_to_threshold_std: float | None = None
    samples_to_threshold_std: float | None = None
    seeds_reaching: int = 0  # seeds whose own (smoothed) curve reached the threshold
    #: per seed, for the differences between algorithms (keyed by seed; `gnivo_cli.compare.statistics`)
    final_rewards: dict[int | None, float] = field(default_factory=dict)
    reward_aucs: dict[int | None, float] = field(default_factory=dict)
    samples_to_threshold_by_seed: dict[int | None, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Comparison:
    """Runs grouped by algorithm, with the statistics the table and the figure show."""

    groups: dict[str, list[Run]]
    stats: list[AlgorithmStats]
    threshold: float | None
    threshold_rule: str  # how the threshold was chosen, for the notes
    window: int  # smoothing window (steps) of the plotted curves and of steps-to-threshold
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "threshold_rule": self.threshold_rule,
            "smoothing_window": self.window,
            "algorithms": [s.to_dict() for s in self.stats],
            "runs": [
                {"algorithm": name, "seed": run.seed, "path": str(run.path), "steps": len(run.rows)}
                for name, runs in self.groups.items()
                for run in runs
            ],
        }


def group_runs(runs: Iterable[Run], order: Sequence[str] | None = None) -> dict[str, list[Run]]:
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.algorithm, []).append(run)
    preferred = list(order or KNOWN_ORDER)
    rank = {name: index for index, name in enumerate(preferred)}
    names = sorted(groups, key=lambda name: (rank.get(name, len(rank)), name))
    return {name: sorted(groups[name], key=lambda r: (r.seed is None, r.seed or 0, str(r.path))) for name in names}


def compare_runs(
    runs: Iterable[Run],
    *,
    threshold: float | None = None,
    window: int | None = None,
    order: Sequence[str] | None = None,
) -> Comparison:
    """Aggregate runs per algorithm. `window` None smooths over a tenth of the steps; 1 turns smoothing off."""
    groups = group_runs(runs, order)
    if not groups:
        raise GnivoError("no runs to compare")
    longest = max(len(run.series("reward")[1]) for group in groups.values() for run in group)
    window = max(1, longest // 10) if window is None else max(1, window)
    curves = {name: curve(group, "reward", window=window) for name, group in groups.items()}

    rule = "given"
    if threshold is None:
        firsts = [
            run.series("reward")[1][0] for group in groups.values() for run in group if run.series("reward")[1].size
        ]
        bests = [float(c.mean.max()) for c in curves.values() if c is not None]
        first, best = (float(np.mean(firsts)), max(bests)) if firsts and bests else (None, None)
        if first is None or best is None:
            rule = "no reward logged"
        elif best <= first:
            rule = f"none: no mean curve rose above the mean first-step reward ({first:.3f})"
        else:
            threshold = first + (best - first) / 2
            rule = (
                f"midway between the mean first-step reward ({first:.3f}) and the best smoothed mean curve ({best:.3f})"
            )

    stats = [_stats(name, group, threshold, window) for name, group in groups.items()]
    return Comparison(groups=groups, stats=stats, threshold=threshold, threshold_rule=rule, window=window)


def _stats(name: str, runs: list[Run], threshold: float | None, window: int) -> AlgorithmStats:
    finals = {run.seed: final_reward(run) for run in runs}
    aucs = {run.seed: reward_auc(run) for run in runs}
    finals = {seed: value for seed, value in finals.items() if value is not None}
    aucs = {seed: value for seed, value in aucs.items() if value is not None}
    step_times = np.concatenate([run.series("step_time")[1] for run in runs])
    memory = [_peak_memory(run) for run in runs]
    memory = [m for m in memory if m is not None]
    samples = [_samples(run) for run in runs]
    samples = [s for s in samples if s is not None]

    # Each seed's own smoothed curve: the spread over seeds says how sure the mean is.
    steps_to: dict[int | None, float | None] = {}
    samples_to: dict[int | None, float | None] = {}
    if threshold is not None:
        for run in runs:
            steps, rewards = run.series("reward")
            at_samples = dict(zip(*run.series("num_samples"), strict=True))
            step = first_crossing(steps, smooth(rewards, window), threshold)
            steps_to[run.seed] = step
            samples_to[run.seed] = None if step is None else float(at_samples[step])
    steps_spread = spread([v for v in steps_to.values() if v is not None])
    samples_spread = spread([v for v in samples_to.values() if v is not None])
    return AlgorithmStats(
        algorithm=name,
        seeds=[run.seed for run in runs],
        steps=max(len(run.rows) for run in runs),
        final_reward=_mean(list(finals.values())),
        final_reward_std=_std(list(finals.values())),
        reward_auc=_mean(list(aucs.values())),
        reward_auc_std=_std(list(aucs.values())),
        steps_to_threshold=steps_spread.mean if steps_spread else None,
        samples_to_threshold=samples_spread.mean if samples_spread else None,
        median_step_time=float(np.median(step_times)) if step_times.size else None,
        peak_memory_mb=max(memory) if memory else None,
        samples=_mean(samples),
        steps_to_threshold_std=steps_spread.std if steps_spread else None,
        samples_to_threshold_std=samples_spread.std if samples_spread else None,
        seeds_reaching=sum(v is not None for v in steps_to.values()),
        final_rewards=finals,
        reward_aucs=aucs,
        samples_to_threshold_by_seed=samples_to,
    )


def _peak_memory(run: Run) -> float | None:
    value = (run.summary or {}).get("peak_memory_mb")
    if isinstance(value, int | float):
        return float(value)
    _, values = run.series("peak_memory_mb")
    return float(values.max()) if values.size else None


def _samples(run: Run) -> float | None:
    _, values = run.series("num_samples")
    if values.size:
        return float(values[-1])
    value = (run.summary or {}).get("samples_generated")
    return float(value) if isinstance(value, int | float) else None


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _std(values: list[float]) -> float | None:
    return float(np.std(values, ddof=1)) if len(values) > 1 else None
