"""The tables and figure of benchmarks/credit.py, from the exact metrics of every run's checkpoints.

Every spread and interval comes from gnivo_cli/compare/statistics.py: mean ± std over seeds, and each
difference between two methods as a t interval paired by seed (the runs of one seed share the first
batch's prompts and the sampler), "ahead"/"behind" only where it excludes 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gnivo_cli.compare.statistics import (
    Spread,
    crossings,
    paired_difference,
    reached_difference,
    reached_summary,
    spread,
)


@dataclass
class SeedRun:
    """One run's exact curve: evaluation points (generated samples) and the metrics at each."""

    seed: int
    samples: list[float]
    metrics: list[dict]

    def series(self, key: str) -> list[float]:
        return [m[key] for m in self.metrics]

    @property
    def final(self) -> dict:
        return self.metrics[-1]

    def auc(self) -> float:
        """Mean exact expected reward over training: the trapezoid area over samples divided by the span."""
        x, y = np.asarray(self.samples), np.asarray(self.series("expected_reward"))
        if x.size < 2:
            return float(y[-1])
        return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)) / (x[-1] - x[0]))


def seed_runs(curves: list[dict]) -> list[SeedRun]:
    """The cached evaluations (benchmarks.credit_runs.evaluate_run) as SeedRuns."""
    return [SeedRun(c["seed"], [s for s, _ in c["points"]], [m for _, m in c["points"]]) for c in curves]


@dataclass
class Variant:
    name: str
    learning_rate: float
    runs: list[SeedRun]
    thresholds: list[float]
    to_threshold: list[dict[int, float | None]] = field(default_factory=list)  # per threshold, per seed

    def __post_init__(self) -> None:
        self.to_threshold = [
            crossings({r.seed: (r.samples, r.series("expected_reward")) for r in self.runs}, value, interpolate=True)
            for value in self.thresholds
        ]

    def per_seed(self, what: str) -> dict[int, float]:
        if what == "auc":
            return {r.seed: r.auc() for r in self.runs}
        return {r.seed: r.final[what] for r in self.runs}

    def spread(self, what: str) -> Spread | None:
        return spread(list(self.per_seed(what).values()))


def thresholds_of(reference: dict) -> list[tuple[str, float]]:
    """Fixed by the task, not by any method: halfway from pi_ref's expected reward to pi*'s, and pi*'s."""
    low, high = reference["reference"]["expected_reward"], reference["optimum"]["expected_reward"]
    return [("halfway from pi_ref to pi*", (low + high) / 2), ("pi*'s E[R]", high)]


def _fmt(found: Spread | None, digits: int = 3) -> str:
    return "-" if found is None else found.format(digits)


def print_tuning(rows: list[tuple]) -> None:
    """(method, rate, mean AUC over the tuning seeds, its SeedRuns, chosen) per row."""
    print("### Learning-rate tuning (mean exact E[R] over training, per tuning seed; * = chosen)\n")
    print(
        "| method | lr | mean E[R] over training | per seed | final E[R] per seed | final P(first right), worst key |"
    )
    print("|---|---|---|---|---|---|")
    for name, rate, mean_auc, runs, chosen in rows:
        per_seed = ", ".join(f"{r.auc():.3f}" for r in runs) or "-"
        finals = ", ".join(f"{r.final['expected_reward']:.3f}" for r in runs) or "-"
        worst = ", ".join(f"{r.final['first_step_right_min']:.3f}" for r in runs) or "-"
        print(f"| {name} | {rate:g}{' *' if chosen else ''} | {mean_auc:.3f} | {per_seed} | {finals} | {worst} |")


def print_main_table(variants: list[Variant], thresholds: list[tuple[str, float]]) -> None:
    heads = " | ".join(f"samples to {value:.3f}" for _, value in thresholds)
    print(
        f"| method | lr | seeds | final E[R] | mean E[R] over training | final P(first step right), worst key "
        f"| final KL(pi ‖ pi*) | {heads} | final leak |"
    )
    print("|---|---|---|---|---|---|---|" + "---|" * len(thresholds) + "---|")
    for v in variants:
        worst = v.spread("first_step_right_min")
        firsts = f"{_fmt(v.spread('first_step_right'))}, {worst.mean:.3f}" if worst else "-"
        cells = " | ".join(reached_summary(per_seed) for per_seed in v.to_threshold)
        print(
            f"| {v.name} | {v.learning_rate:g} | {len(v.runs)} | {_fmt(v.spread('expected_reward'))} | "
            f"{_fmt(v.spread('auc'))} | {firsts} | {_fmt(v.spread('kl_to_optimum'))} | {cells} | "
            f"{_fmt(v.spread('leak'), 4)} |"
        )


def print_differences(variants: list[Variant], baseline: str, names: list[str] | None = None) -> None:
    """Each method minus `baseline`, paired by seed: mean [95 % interval] verdict."""
    by_name = {v.name: v for v in variants}
    if baseline not in by_name:
        return
    base = by_name[baseline]
    print(
        f"| method − {baseline} | final E[R] | mean E[R] over training | "
        + " | ".join(f"samples to {t:.3f} (lower is better)" for t in base.thresholds)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(base.thresholds))
    for v in variants:
        if v.name == baseline or (names is not None and v.name not in names):
            continue
        cells = []
        for what in ("expected_reward", "auc"):
            found = paired_difference(v.per_seed(what), base.per_seed(what))
            cells.append("-" if found is None else found.format(3))
        for mine, theirs in zip(v.to_threshold, base.to_threshold, strict=True):
            found = reached_difference(mine, theirs)
            note = f" ({found.n} seeds both reached)" if found and found.n < len(v.runs) else ""
            cells.append("-" if found is None else found.format(0, higher_is_better=False) + note)
        print(f"| {v.name} | " + " | ".join(cells) + " |")


def print_curve_table(variants: list[Variant]) -> None:
    samples = sorted(set.intersection(*(set(r.samples) for v in variants for r in v.runs)))
    shown = samples[:: max(1, len(samples) // 6)]
    if samples and samples[-1] not in shown:
        shown.append(samples[-1])
    print("| method | " + " | ".join(f"{s:.0f}" for s in shown) + " |")
    print("|---|" + "---|" * len(shown))
    for v in variants:
        cells = []
        for s in shown:
            values = [r.series("expected_reward")[r.samples.index(s)] for r in v.runs]
            cells.append(f"{np.mean(values):.3f}")
        print(f"| {v.name} | " + " | ".join(cells) + " |")


def plot(variants: list[Variant], reference: dict, thresholds: list[tuple[str, float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.8))
    colors = plt.get_cmap("tab10")
    for index, v in enumerate(variants):
        color = colors(index % 10)
        style = "-" if v.name.startswith("gnivo") else "--"
        samples = sorted(set.intersection(*(set(r.samples) for r in v.runs)))
        for axis, key in ((left, "expected_reward"), (middle, "first_step_right_min"), (right, "kl_to_optimum")):
            rows = np.asarray([[r.series(key)[r.samples.index(s)] for s in samples] for r in v.runs])
            mean, std = rows.mean(0), rows.std(0, ddof=1) if len(rows) > 1 else np.zeros(len(samples))
            axis.plot(samples, mean, style, color=color, label=f"{v.name} (lr {v.learning_rate:g}, {len(rows)} seeds)")
            axis.fill_between(samples, mean - std, mean + std, color=color, alpha=0.12)
    left.axhline(reference["optimum"]["expected_reward"], color="black", linewidth=0.8, linestyle=":", label="pi*")
    left.axhline(thresholds[0][1], color="gray", linewidth=0.8, label=f"threshold: {thresholds[0][0]}")
    left.set(xlabel="generated samples", ylabel="exact expected reward", title="Expected reward (mean ± std)")
    middle.set(
        xlabel="generated samples", ylabel="P(first step = key), worst key", title="Reading the key (worst of 4 keys)"
    )
    middle.axhline(reference["optimum"]["first_step_right_min"], color="black", linewidth=0.8, linestyle=":")
    middle.set_ylim(0, 1.02)  # a probability: the ± std band may reach past it
    right.set(xlabel="generated samples", ylabel="KL(pi || pi*)", title="KL to the optimum pi_ref·exp(R/α)/Z")
    right.set_yscale("log")
    left.legend(fontsize=7, loc="upper left")
    for axis in (left, middle, right):
        axis.grid(alpha=0.3)
    figure.suptitle("credit.py: synthetic:steps, every key (exact, by enumeration of all completions)")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
