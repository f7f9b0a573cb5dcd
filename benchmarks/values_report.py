"""The tables and the figure of benchmarks/values.py: per algorithm mean ± std over seeds, each difference from the
baseline with a paired 95 % interval (gnivo_cli/compare/statistics.py) and its verdict, the untrained policy and the
exact optimum as floor and ceiling."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchmarks.values_exact import BEST_OF

#: (key, column title): the headline numbers, higher is better for each.
HEADLINE = (
    ("expected_reward", "E[R] of the policy"),
    ("spearman", "Spearman, all prefixes"),
    ("spearman_steps", "Spearman, step ends"),
    ("f1_value", "first-error F1 (value)"),
    ("f1_change", "first-error F1 (change)"),
    ("bon_min@16", "best of 16 by lowest step"),
    ("bon_final@16", "best of 16 by final value"),
)
DIFFERENCES = ("spearman", "f1_value", "f1_change", "bon_min@16")
FIXED_ROWS = ("π_ref (untrained)", "π* (optimum)")


def _scattered(rows: Sequence[dict], scatter: dict, baseline: str) -> list[str]:
    """The GN-IVO setting with the highest mean correlation, and the baseline: two clouds stay readable."""
    import numpy as np

    def mean_spearman(name: str) -> float:
        values = [r["spearman"] for r in rows if r["algorithm"] == name and r["spearman"] is not None]
        return float(np.mean(values)) if values else float("-inf")

    gnivo = [name for name in scatter if name.startswith("gnivo")]
    chosen = [max(gnivo, key=mean_spearman)] if gnivo else []
    return chosen + [name for name in scatter if name == baseline] or list(scatter)[:2]


def _algorithms(rows: Sequence[dict]) -> list[str]:
    return list(dict.fromkeys(row["algorithm"] for row in rows if row["algorithm"] not in FIXED_ROWS))


def _cell(values: Sequence[float | None]) -> str:
    from gnivo_cli.compare.statistics import spread

    if any(value is None for value in values):
        return "—" if all(value is None for value in values) else f"{_cell([v for v in values if v is not None])}*"
    summary = spread(values)
    return "—" if summary is None else summary.format(3)


def print_report(rows: Sequence[dict], header: Sequence[str], *, baseline: str = "grpo") -> None:
    from gnivo_cli.compare.statistics import difference

    print("## values.py: trained policies read as value models on synthetic:steps\n")
    print("\n".join(header))
    print("\n| policy | seeds | " + " | ".join(title for _, title in HEADLINE) + " |")
    print("|---|---|" + "---|" * len(HEADLINE))
    for fixed in FIXED_ROWS:
        row = next(r for r in rows if r["algorithm"] == fixed)
        print(f"| {fixed} | - | " + " | ".join(_cell([row[key]]) for key, _ in HEADLINE) + " |")
    by_algorithm = {a: [r for r in rows if r["algorithm"] == a] for a in _algorithms(rows)}
    for algorithm, runs in by_algorithm.items():
        cells = " | ".join(_cell([r[key] for r in runs]) for key, _ in HEADLINE)
        print(f"| {algorithm} | {len(runs)} | {cells} |")
    print("\n(mean ± std over seeds; — where undefined: the untrained policy's values are all 0, so they rank nothing; "
          "* where some seeds are undefined)")  # fmt: skip

    if baseline in by_algorithm:
        print(f"\nDifference from {baseline}, paired by seed, with a 95 % t interval (ahead/behind only where it "
              "excludes 0):\n")  # fmt: skip
        print("| policy | " + " | ".join(dict(HEADLINE)[key] for key in DIFFERENCES) + " |")
        print("|---|" + "---|" * len(DIFFERENCES))
        base = {r["seed"]: r for r in by_algorithm[baseline]}
        for algorithm, runs in by_algorithm.items():
            if algorithm == baseline:
                continue
            cells = []
            for key in DIFFERENCES:
                mine = {r["seed"]: r[key] for r in runs if r[key] is not None}
                theirs = {seed: r[key] for seed, r in base.items() if r[key] is not None}
                found = difference(mine, theirs)
                cells.append("—" if found is None else found.format(3))
            print(f"| {algorithm} | " + " | ".join(cells) + " |")

    print("\nBest-of-N from π_ref's completions (expected reward; random: one drawn at random; oracle: the best of "
          "the N by true reward):\n")  # fmt: skip
    columns = [f"{name}@{n}" for n in BEST_OF for name in ("bon_min", "bon_final")]
    titles = [f"N={n} {reading}" for n in BEST_OF for reading in ("lowest step", "final")]
    print("| policy | random | " + " | ".join(titles) + " | " + " | ".join(f"oracle N={n}" for n in BEST_OF) + " |")
    print("|---|---|" + "---|" * (len(columns) + len(BEST_OF)))
    reference = next(r for r in rows if r["algorithm"] == FIXED_ROWS[0])
    oracle = " | ".join(f"{reference[f'bon_oracle@{n}']:.3f}" for n in BEST_OF)
    for name in [*FIXED_ROWS, *by_algorithm]:
        runs = [r for r in rows if r["algorithm"] == name]
        cells = " | ".join(_cell([r[c] for r in runs]) for c in columns)
        print(f"| {name} | {reference['random']:.3f} | {cells} | {oracle} |")

    print("\nPer run:\n")
    print("| policy | seed | E[R] | leak | Spearman | F1 value (acc. erroneous / correct) | F1 change | best of 16 |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        if row["algorithm"] in FIXED_ROWS:
            continue
        spearman = "—" if row["spearman"] is None else f"{row['spearman']:.3f}"
        print(
            f"| {row['algorithm']} | {row['seed']} | {row['expected_reward']:.3f} | {row['leak']:.3f} | {spearman} | "
            f"{row['f1_value']:.3f} ({row['f1_value_acc_error']:.3f} / {row['f1_value_acc_correct']:.3f}) | "
            f"{row['f1_change']:.3f} | {row['bon_min@16']:.3f} |"
        )


def plot(rows: Sequence[dict], scatter: dict, tree, path: Path, *, baseline: str = "grpo") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from gnivo_cli.algorithms.table import ALGORITHMS

    algorithms = _algorithms(rows)
    colors = colors_for(algorithms, ALGORITHMS)
    figure, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    optimum = next(r for r in rows if r["algorithm"] == FIXED_ROWS[1])
    reference = next(r for r in rows if r["algorithm"] == FIXED_ROWS[0])
    for axis, (key, title) in zip(
        axes[:2], (("spearman", "Spearman with V*, all prefixes"), ("f1_value", "first-error F1 (value)")), strict=True
    ):
        for x, algorithm in enumerate(algorithms):
            values = [r[key] for r in rows if r["algorithm"] == algorithm and r[key] is not None]
            axis.scatter([x] * len(values), values, s=14, color=colors[algorithm], alpha=0.7)
            if values:
                axis.hlines(np.mean(values), x - 0.3, x + 0.3, color=colors[algorithm], linewidth=2)
        axis.axhline(optimum[key], color="black", linestyle="--", linewidth=1, label="π* (ceiling)")
        if reference[key] is not None:
            axis.axhline(reference[key], color="grey", linestyle=":", linewidth=1, label="π_ref")
        shown = [r[key] for r in rows if r[key] is not None]
        axis.set_ylim(min(0.0, *shown) - 0.05, 1.05)  # from 0 (or below) to the ceiling's 1
        axis.set_xticks(range(len(algorithms)), algorithms, rotation=30, ha="right", fontsize=8)
        axis.set_title(title, fontsize=10)
        axis.spines[["top", "right"]].set_visible(False)
    axes[0].legend(fontsize=8, frameon=False, loc="lower left")

    axis = axes[2]
    for algorithm in algorithms:
        means = [np.mean([r[f"bon_min@{n}"] for r in rows if r["algorithm"] == algorithm]) for n in BEST_OF]
        axis.plot(BEST_OF, means, "o-", color=colors[algorithm], markersize=3, label=algorithm)
    axis.plot(BEST_OF, [optimum[f"bon_min@{n}"] for n in BEST_OF], "k--", linewidth=1, label="π* (ceiling)")
    axis.plot(BEST_OF, [reference[f"bon_oracle@{n}"] for n in BEST_OF], ":", color="black", linewidth=1, label="oracle")
    axis.axhline(reference["random"], color="grey", linestyle=":", linewidth=1, label="random pick")
    axis.set_xscale("log", base=2)
    axis.set_xticks(BEST_OF, [str(n) for n in BEST_OF])
    axis.set_xlabel("N completions from π_ref")
    axis.set_title("best of N by lowest step value: E[R]", fontsize=10)
    axis.spines[["top", "right"]].set_visible(False)
    axis.legend(fontsize=7, frameon=False, loc="upper left")

    axis = axes[3]
    target = tree.optimum_prefix_values()[:, :, tree.step_ends]
    unique = np.broadcast_to(tree.first[:, tree.step_ends], target.shape)
    for algorithm in _scattered(rows, scatter, baseline):
        values = scatter[algorithm]
        axis.scatter(target[unique], values[unique], s=3, alpha=0.35, color=colors[algorithm], label=algorithm)
    low, high = float(target[unique].min()), float(target[unique].max())
    axis.plot([low, high], [low, high], "k--", linewidth=1, label="π* (y = x)")
    axis.legend(fontsize=7, frameon=False, loc="lower right", markerscale=3)
    axis.set_xlabel("exact V*(prefix) − V*(x)")
    axis.set_ylabel("implicit α·log π_θ/π_ref")
    axis.set_title("step-end prefixes, first seed", fontsize=10)
    axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


#: GN-IVO settings take these in turn (blues and purples), other variants these; none is a baseline's table colour.
GNIVO_COLORS = ("#1f77b4", "#9467bd", "#17becf", "#393b79", "#e377c2", "#8c564b")
OTHER_COLORS = ("#7f7f7f", "#bcbd22", "#8c6d31", "#637939")


def colors_for(names: Sequence[str], table: dict) -> dict[str, str]:
    """One distinct colour per name: an algorithm's own from the table, GN-IVO settings and other variants
    (`grpo-noclip` beside `grpo`) from palettes of their own."""
    colors, gnivo, other = {}, iter(GNIVO_COLORS * 4), iter(OTHER_COLORS * 6)
    for name in names:
        if name.startswith("gnivo"):
            colors[name] = next(gnivo)
        elif name in table:
            colors[name] = table[name].color
        else:
            colors[name] = next(other)
    return colors
