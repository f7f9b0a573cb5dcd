"""Learning curves of training runs: load output dirs, aggregate over seeds, tabulate, plot.

A run is an output dir of `gnivo train` (metrics.jsonl, one row per optimizer step; recipe.yaml; and
summary.json once finished). Runs are grouped by algorithm; each group's seeds give a mean curve and a
band (± one standard deviation). Used by `gnivo compare` and `gnivo plot`; reads files only (no torch).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gnivo_cli.algorithms import ALGORITHMS
from gnivo_cli.errors import GnivoError
from gnivo_cli.jsonl import read_jsonl

METRICS_FILE = "metrics.jsonl"
RECIPE_FILE = "recipe.yaml"
SUMMARY_FILE = "summary.json"
#: Algorithms in the order tables and legends list them: the algorithm table's (others follow, alphabetically).
KNOWN_ORDER = tuple(ALGORITHMS)
_COLORS = {name: spec.color for name, spec in ALGORITHMS.items()}
_OTHER_COLORS = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")


@dataclass
class Run:
    """One training output dir: its per-step metrics and, when finished, its summary."""

    path: Path
    algorithm: str
    seed: int | None
    rows: list[dict[str, Any]]
    summary: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.summary is not None

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of one metric, skipping rows where it is missing or not a finite number."""
        steps, values = [], []
        for index, row in enumerate(self.rows):
            value = row.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                steps.append(row.get("step", index + 1))
                values.append(float(value))
        return np.asarray(steps, dtype=float), np.asarray(values, dtype=float)


def load_run(path: Path) -> Run:
    """Read one run dir. The algorithm and seed come from summary.json, else from recipe.yaml."""
    metrics = path / METRICS_FILE
    if not metrics.is_file():
        raise GnivoError(f"{path}: no {METRICS_FILE} (not a gnivo training output dir)")
    rows = read_jsonl(metrics)
    summary = _read_json(path / SUMMARY_FILE)
    recipe = _read_yaml(path / RECIPE_FILE)
    algorithm = (summary or {}).get("algorithm") or ((recipe.get("algorithm") or {}).get("name"))
    if not algorithm:
        raise GnivoError(f"{path}: cannot tell the algorithm (no {SUMMARY_FILE} or {RECIPE_FILE} naming it)")
    seed = (summary or {}).get("seed", ((recipe.get("training") or {}).get("seed")))
    return Run(path=path, algorithm=str(algorithm), seed=seed, rows=rows, summary=summary)


def find_runs(paths: Iterable[Path]) -> list[Run]:
    """Runs under the given paths: each is a run dir, or a dir searched for run dirs (e.g. a compare dir)."""
    runs: list[Run] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise GnivoError(f"{path}: no such file or directory")
        if (path / METRICS_FILE).is_file():
            runs.append(load_run(path))
            continue
        found = sorted(metrics.parent for metrics in path.rglob(METRICS_FILE))
        if not found:
            raise GnivoError(f"{path}: no training runs found (no {METRICS_FILE} in it or below it)")
        runs.extend(load_run(run_dir) for run_dir in found)
    return runs


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise GnivoError(f"{path}: not valid JSON ({error.msg})") from None
    return data if isinstance(data, dict) else None


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise GnivoError(f"{path}: not valid YAML ({error})") from None
    return data if isinstance(data, dict) else {}


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
    steps_to_threshold: float | None  # None: the mean curve never reached the threshold
    samples_to_threshold: float | None
    median_step_time: float | None
    peak_memory_mb: float | None
    samples: float | None  # completions generated per run (mean over seeds)

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

    stats = [_stats(name, group, curves[name], threshold, window) for name, group in groups.items()]
    return Comparison(groups=groups, stats=stats, threshold=threshold, threshold_rule=rule, window=window)


def _stats(name: str, runs: list[Run], reward: Curve | None, threshold: float | None, window: int) -> AlgorithmStats:
    finals = [v for v in (final_reward(run) for run in runs) if v is not None]
    aucs = [v for v in (reward_auc(run) for run in runs) if v is not None]
    step_times = np.concatenate([run.series("step_time")[1] for run in runs])
    memory = [_peak_memory(run) for run in runs]
    memory = [m for m in memory if m is not None]
    samples = [_samples(run) for run in runs]
    samples = [s for s in samples if s is not None]

    steps_to = samples_to = None
    if reward is not None and threshold is not None:
        reached = np.nonzero(reward.mean >= threshold)[0]
        if reached.size:
            steps_to = float(reward.x[reached[0]])
            by_samples = curve(runs, "reward", window=window, x="num_samples")
            if by_samples is not None:
                hit = np.nonzero(by_samples.mean >= threshold)[0]
                samples_to = float(by_samples.x[hit[0]]) if hit.size else None
    return AlgorithmStats(
        algorithm=name,
        seeds=[run.seed for run in runs],
        steps=max(len(run.rows) for run in runs),
        final_reward=_mean(finals),
        final_reward_std=_std(finals),
        reward_auc=_mean(aucs),
        reward_auc_std=_std(aucs),
        steps_to_threshold=steps_to,
        samples_to_threshold=samples_to,
        median_step_time=float(np.median(step_times)) if step_times.size else None,
        peak_memory_mb=max(memory) if memory else None,
        samples=_mean(samples),
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


# ---- rendering -------------------------------------------------------------------------------------

TABLE_HEADERS = (
    "algorithm",
    "seeds",
    "final reward",
    "reward AUC",
    "steps to threshold",
    "samples / run",
    "median step time",
    "peak memory",
)


def table_rows(comparison: Comparison) -> list[tuple[str, ...]]:
    """The comparison table as text cells, one row per algorithm (shared by rich and markdown)."""
    rows = []
    for s in comparison.stats:
        rows.append(
            (
                s.algorithm,
                str(len(s.seeds)),
                _pm(s.final_reward, s.final_reward_std),
                _pm(s.reward_auc, s.reward_auc_std),
                _steps_to(s, comparison.threshold),
                "-" if s.samples is None else f"{s.samples:,.0f}",
                "-" if s.median_step_time is None else f"{s.median_step_time:.2f} s",
                "-" if s.peak_memory_mb is None else f"{s.peak_memory_mb:,.0f} MB",
            )
        )
    return rows


def definitions(comparison: Comparison) -> list[str]:
    """What each column means, in words (printed under the table and written to summary.md)."""
    threshold = "a threshold" if comparison.threshold is None else f"{comparison.threshold:.3f}"
    smoothing = f"smoothed over {comparison.window} steps" if comparison.window > 1 else "unsmoothed"
    return [
        "final reward: mean per-step reward over the last quarter of the optimizer steps; mean ± std over seeds.",
        "reward AUC: area under the reward-vs-step curve divided by the steps it spans (the mean reward over "
        "training); mean ± std over seeds.",
        f"steps to threshold: first optimizer step where the mean-over-seeds reward ({smoothing}) reaches "
        f"{threshold} (threshold: {comparison.threshold_rule}).",
        "samples / run: completions generated per run; median step time over all steps of all seeds; "
        "peak memory: the largest over seeds (GPU memory allocated on CUDA, else the process's resident set).",
    ]


def summary_markdown(
    comparison: Comparison, *, title: str, preamble: Sequence[str] = (), figure: str | None = None
) -> str:
    lines = [f"# {title}", ""]
    for paragraph in preamble:
        lines += [paragraph, ""]
    lines.append("| " + " | ".join(TABLE_HEADERS) + " |")
    lines.append("|" + "|".join("---" for _ in TABLE_HEADERS) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(comparison)]
    lines.append("")
    lines += [f"- {text}" for text in definitions(comparison)]
    lines += [f"- {note}" for note in comparison.notes]
    if figure:
        lines += ["", f"![learning curves]({figure})"]
    return "\n".join(lines) + "\n"


def _steps_to(stats: AlgorithmStats, threshold: float | None) -> str:
    if threshold is None:
        return "-"
    return "not reached" if stats.steps_to_threshold is None else f"{stats.steps_to_threshold:g}"


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "-"
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"


def plot_comparison(comparison: Comparison, output: Path, *, title: str | None = None) -> Path:
    """Reward against optimizer step and against generated samples, and KL against step: one PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(16, 4.6), layout="constrained")
    FigureCanvasAgg(figure)  # render with Agg: no display, no pyplot state
    by_step, by_samples, kl = figure.subplots(1, 3)
    panels = (
        (by_step, "reward", "step", "optimizer step", "reward"),
        (by_samples, "reward", "num_samples", "generated samples", "reward"),
        (kl, "kl", "step", "optimizer step", "KL"),
    )
    colors = _colors(comparison.groups)
    count = len(comparison.groups)
    markers = {name: ("os^Dv<>p"[i % 8], 4 + 2.5 * (count - 1 - i)) for i, name in enumerate(comparison.groups)}
    for axis, key, x, xlabel, ylabel in panels:
        drawn = False
        for name, runs in comparison.groups.items():
            data = curve(runs, key, window=comparison.window, x=x)
            if data is None:
                continue
            drawn = True
            label = f"{name} ({len(runs)} seed{'s' if len(runs) != 1 else ''})"
            # Markers on short curves: algorithms sharing a seed start from the same samples and can overlap.
            # Earlier ones get larger markers so identical points stay visible.
            marker, size = markers[name] if data.x.size <= 30 else (None, 0)
            axis.plot(data.x, data.mean, color=colors[name], label=label, linewidth=1.8, marker=marker, markersize=size)
            band = ~np.isnan(data.std)
            if band.any():
                axis.fill_between(
                    data.x[band],
                    (data.mean - data.std)[band],
                    (data.mean + data.std)[band],
                    color=colors[name],
                    alpha=0.18,
                    linewidth=0,
                )
        if key == "reward" and comparison.threshold is not None and drawn:
            axis.axhline(comparison.threshold, color="0.5", linestyle="--", linewidth=1, label="threshold")
        if not drawn:
            axis.text(0.5, 0.5, f"no {key} logged", transform=axis.transAxes, ha="center", va="center", color="0.4")
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        axis.grid(alpha=0.3)
    by_step.set_title("reward per optimizer step")
    by_samples.set_title("reward at the same sampling budget")
    kl.set_title("KL to the reference (initial) model")
    handles, labels = by_step.get_legend_handles_labels()
    if handles:
        by_step.legend(handles, labels, fontsize="small")
    smoothing = f", smoothed over {comparison.window} steps" if comparison.window > 1 else ""
    figure.suptitle(f"{title or 'learning curves'} (mean ± std over seeds{smoothing})")
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)
    return output


def _colors(groups: dict[str, list[Run]]) -> dict[str, str]:
    others = iter(_OTHER_COLORS * (1 + len(groups) // len(_OTHER_COLORS)))
    return {name: _COLORS.get(name) or next(others) for name in groups}
