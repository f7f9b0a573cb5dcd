"""The table and figure of benchmarks/credit.py, from the exact metrics of every run's checkpoints."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class VariantCurve:
    name: str
    seeds: int
    samples: list[float]  # evaluation points shared by every seed
    reward_mean: list[float]
    reward_std: list[float]
    kl_mean: list[float]
    kl_std: list[float]
    first_right: list[float]
    final_rewards: list[float]  # per seed
    final_kls: list[float]
    final_leaks: list[float]
    per_seed_rewards: list[list[float]] = field(default_factory=list)
    #: per threshold: (samples where the mean curve first reaches it, seeds whose own curve reaches it)
    reaching: list[tuple[float | None, int]] = field(default_factory=list)


@dataclass
class Result:
    curves: dict[str, VariantCurve]
    reference: dict
    thresholds: list[tuple[str, float]]  # (what it is, value)
    baseline: str  # the method the "vs" columns divide by


def _first_crossing(samples: list[float], values: list[float], threshold: float) -> float | None:
    """Samples where the curve first reaches `threshold`, interpolated linearly between evaluation points."""
    for index, value in enumerate(values):
        if value >= threshold:
            if index == 0:
                return samples[0]
            x0, x1, y0 = samples[index - 1], samples[index], values[index - 1]
            return x0 + (x1 - x0) * (threshold - y0) / (value - y0)
    return None


def _mean_std(rows: list[list[float]]) -> tuple[list[float], list[float]]:
    columns = list(zip(*rows, strict=True))
    means = [statistics.fmean(c) for c in columns]
    stds = [statistics.stdev(c) if len(c) > 1 else 0.0 for c in columns]
    return means, stds


def aggregate(runs_by_variant: dict[str, list[dict]], reference: dict, *, threshold_from: str) -> Result:
    curves = {}
    for name, runs in runs_by_variant.items():
        if not runs:
            continue
        common = sorted(set.intersection(*({s for s, _ in run["points"]} for run in runs)))
        table = [{s: v for s, v in run["points"]} for run in runs]
        rewards = [[t[s]["expected_reward"] for s in common] for t in table]
        kls = [[t[s]["kl_to_optimum"] for s in common] for t in table]
        firsts = [[t[s]["first_step_right"] for s in common] for t in table]
        reward_mean, reward_std = _mean_std(rewards)
        kl_mean, kl_std = _mean_std(kls)
        curves[name] = VariantCurve(
            name,
            len(runs),
            common,
            reward_mean,
            reward_std,
            kl_mean,
            kl_std,
            _mean_std(firsts)[0],
            [r[-1] for r in rewards],
            [k[-1] for k in kls],
            [t[common[-1]]["leak"] for t in table],
        )
        curves[name].per_seed_rewards = rewards
    thresholds = [
        (f"{threshold_from}'s final E[R]", curves[threshold_from].reward_mean[-1]),
        ("pi*'s E[R]", reference["optimum"]["expected_reward"]),
    ]
    for curve in curves.values():
        for _, value in thresholds:
            mean_crossing = _first_crossing(curve.samples, curve.reward_mean, value)
            seeds = sum(_first_crossing(curve.samples, r, value) is not None for r in curve.per_seed_rewards)
            curve.reaching.append((mean_crossing, seeds))
    return Result(curves, reference, thresholds, threshold_from)


def _pm(values: list[float], digits: int = 3) -> str:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def print_report(result: Result, header: list[str], failures: list[str]) -> None:
    ref, opt = result.reference["reference"], result.reference["optimum"]
    baselines = result.curves[result.baseline].reaching
    print("## credit.py: exact credit assignment on synthetic:steps\n")
    for line in header:
        print(line)
    print(
        f"- pi_ref (the pretrained model): E[R] = {ref['expected_reward']:.4f}, P(first step right) = "
        f"{ref['first_step_right']:.4f}, KL(pi_ref || pi*) = {ref['kl_to_optimum']:.4f}, leak {ref['leak']:.4f}"
    )
    print(
        f"- pi* = pi_ref exp(R/alpha)/Z: E[R] = {opt['expected_reward']:.4f}, "
        f"P(first step right) = {opt['first_step_right']:.4f}"
    )
    names = " and ".join(f"{label} ({value:.4f})" for label, value in result.thresholds)
    print(
        f"- thresholds: {names}; samples to a threshold: first crossing of the mean-over-seeds curve (linear "
        f"between evaluations), its ratio to {result.baseline}'s, and how many seeds' own curves reach it"
    )
    print()
    heads = " | ".join(f"samples to {value:.3f} | vs {result.baseline} | seeds" for _, value in result.thresholds)
    print(
        "| method | seeds | final E[R] | final P(first step right) | final KL(pi ‖ pi*) | min mean KL (at samples) "
        f"| {heads} | final leak |"
    )
    print("|---|---|---|---|---|---|" + "---|---|---|" * len(result.thresholds) + "---|")
    for curve in result.curves.values():
        low = min(range(len(curve.kl_mean)), key=curve.kl_mean.__getitem__)
        cells = []
        for (reach, seeds), (base, _) in zip(curve.reaching, baselines, strict=True):
            ratio = f"{reach / base:.2f}" if reach is not None and base else "-"
            cells.append(f"{'not reached' if reach is None else f'{reach:.0f}'} | {ratio} | {seeds}/{curve.seeds}")
        print(
            f"| {curve.name} | {curve.seeds} | {_pm(curve.final_rewards)} | {curve.first_right[-1]:.3f} | "
            f"{_pm(curve.final_kls)} | {curve.kl_mean[low]:.3f} ({curve.samples[low]:.0f}) | {' | '.join(cells)} | "
            f"{statistics.fmean(curve.final_leaks):.4f} |"
        )
    print()
    print("Mean exact expected reward by samples (mean over seeds):\n")
    samples = next(iter(result.curves.values())).samples
    shown = samples[:: max(1, len(samples) // 6)]
    if samples[-1] not in shown:
        shown.append(samples[-1])
    print("| method | " + " | ".join(f"{s:.0f}" for s in shown) + " |")
    print("|---|" + "---|" * len(shown))
    for curve in result.curves.values():
        values = dict(zip(curve.samples, curve.reward_mean, strict=True))
        print(f"| {curve.name} | " + " | ".join(f"{values[s]:.3f}" if s in values else "-" for s in shown) + " |")
    for failure in failures:
        print(f"\nfailed: {failure}")


def plot(result: Result, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    colors = plt.get_cmap("tab10")
    for index, curve in enumerate(result.curves.values()):
        color = colors(index % 10)
        style = "--" if not curve.name.startswith("gnivo") else "-"
        for axis, mean, std in ((left, curve.reward_mean, curve.reward_std), (right, curve.kl_mean, curve.kl_std)):
            axis.plot(curve.samples, mean, style, color=color, label=f"{curve.name} ({curve.seeds} seeds)")
            axis.fill_between(
                curve.samples,
                [m - s for m, s in zip(mean, std, strict=True)],
                [m + s for m, s in zip(mean, std, strict=True)],
                color=color,
                alpha=0.12,
            )
    optimum = result.reference["optimum"]["expected_reward"]
    left.axhline(optimum, color="black", linewidth=0.8, linestyle=":", label="pi* (the KL-regularized optimum)")
    label, value = result.thresholds[0]
    left.axhline(value, color="gray", linewidth=0.8, label=f"threshold: {label}")
    left.set(xlabel="generated samples", ylabel="exact expected reward", title="Expected reward (mean ± std)")
    right.set(xlabel="generated samples", ylabel="KL(pi || pi*)", title="KL to the optimum pi_ref·exp(R/α)/Z")
    right.set_yscale("log")
    left.legend(fontsize=7, loc="upper left")
    figure.suptitle("credit.py: synthetic:steps (exact, by enumeration of all completions)")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
