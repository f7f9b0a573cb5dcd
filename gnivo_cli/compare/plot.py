"""The comparison figure of `gnivo compare` and `gnivo plot`: reward against steps and against samples,
and KL, one line per algorithm with its band over seeds (matplotlib, imported only when drawing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gnivo_cli.algorithms.table import ALGORITHMS
from gnivo_cli.compare.curves import Comparison, curve
from gnivo_cli.compare.run_records import Run

_COLORS = {name: spec.color for name, spec in ALGORITHMS.items()}
_OTHER_COLORS = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")


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
