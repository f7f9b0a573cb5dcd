"""The comparison table of `gnivo compare` and `gnivo plot`: text cells (rich and Markdown share them),
what each column means, and summary.md."""

from __future__ import annotations

from collections.abc import Sequence

from gnivo_cli.compare.curves import AlgorithmStats, Comparison

TABLE_HEADERS = (
    "algorithm",
    "seeds",
    "final reward",
    "reward AUC",
    "steps to threshold",
    "samples to threshold",
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
                _samples_to(s, comparison.threshold),
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
        f"{threshold} (threshold: {comparison.threshold_rule}); samples to threshold: the completions generated "
        "by then, the fair measure when algorithms take different numbers of optimizer steps per batch.",
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


def _samples_to(stats: AlgorithmStats, threshold: float | None) -> str:
    if threshold is None:
        return "-"
    return "not reached" if stats.samples_to_threshold is None else f"{stats.samples_to_threshold:,.0f}"


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "-"
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"
