"""The comparison figures of `gnivo compare` and `gnivo plot` (matplotlib, imported only when drawing).

`plot_comparison`: reward against optimizer step and against generated samples, and KL against step where
some run logged a KL (no empty panel); one line per group with its band over seeds. `plot_by_algorithm`:
small multiples, one panel per algorithm, reward against samples, one line per setting.

A group named "ALGORITHM SETTING" (`gnivo num_iterations=2`, as `label_settings` or a benchmark labels
runs) is drawn in its algorithm's colour with its setting's line style and marker: the same algorithm always
has the same colour and the same setting the same style, however many runs there are. Markers are small and
sparse, and the legend sits outside the axes, so neither hides a curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gnivo_cli.algorithms.table import ALGORITHMS
from gnivo_cli.compare.curves import Comparison, curve

#: Colours for algorithms outside the table, none of them a table colour.
_OTHER_COLORS = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939", "#843c39")
_LINE_STYLES: tuple[Any, ...] = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)), (0, (8, 3)))
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
#: At most this many markers per line: they mark a style, not every point.
_MARKS_PER_LINE = 8


@dataclass(frozen=True)
class Style:
    color: str
    linestyle: Any
    marker: str


def split_label(name: str) -> tuple[str, str]:
    """("gnivo", "num_iterations=2") for "gnivo num_iterations=2"; ("gnivo", "") for "gnivo"."""
    algorithm, _, setting = name.partition(" ")
    return algorithm, setting.strip()


def group_styles(names: list[str]) -> dict[str, Style]:
    """One colour per algorithm (the table's, others from a palette that avoids them) and one line style and
    marker per setting, in order of first appearance."""
    algorithms = list(dict.fromkeys(split_label(name)[0] for name in names))
    settings = list(dict.fromkeys(split_label(name)[1] for name in names))
    table = {name: spec.color for name, spec in ALGORITHMS.items()}
    others = iter(c for c in _OTHER_COLORS * (1 + len(algorithms) // len(_OTHER_COLORS)))
    colors = {name: table.get(name) or next(others) for name in algorithms}
    styles = {}
    for name in names:
        algorithm, setting = split_label(name)
        index = settings.index(setting)
        styles[name] = Style(
            colors[algorithm], _LINE_STYLES[index % len(_LINE_STYLES)], _MARKERS[index % len(_MARKERS)]
        )
    return styles


def plot_comparison(comparison: Comparison, output: Path, *, title: str | None = None) -> Path:
    """Reward against optimizer step and against generated samples, and KL against step when logged: one PNG."""
    return _save(comparison_figure(comparison, title=title), output)


def plot_by_algorithm(comparison: Comparison, output: Path, *, title: str | None = None) -> Path:
    """Small multiples: one panel per algorithm, reward against generated samples, one line per setting."""
    return _save(by_algorithm_figure(comparison, title=title), output)


def comparison_figure(comparison: Comparison, *, title: str | None = None) -> Any:
    """The figure `plot_comparison` saves (a matplotlib Figure)."""
    panels = [
        ("reward", "step", "optimizer step", "reward", "reward per optimizer step"),
        ("reward", "num_samples", "generated samples", "reward", "reward at the same sampling budget"),
    ]
    if any(curve(runs, "kl", x="step") is not None for runs in comparison.groups.values()):
        panels.append(("kl", "step", "optimizer step", "KL", "KL to the reference (initial) model"))
    figure, axes = _figure(len(panels), width=5.2)
    styles = group_styles(list(comparison.groups))
    many = len(comparison.groups) > 4
    for axis, (key, x, xlabel, ylabel, heading) in zip(axes, panels, strict=True):
        for name, runs in comparison.groups.items():
            data = curve(runs, key, window=comparison.window, x=x)
            if data is not None:
                _draw(axis, data, styles[name], f"{name} ({_seeds(runs)})", band_alpha=0.07 if many else 0.16)
        if key == "reward" and comparison.threshold is not None:
            axis.axhline(comparison.threshold, color="0.45", linestyle=(0, (4, 3)), linewidth=0.9, label="threshold")
        axis.set(xlabel=xlabel, ylabel=ylabel, title=heading)
        axis.grid(alpha=0.3)
    smoothing = f", smoothed over {comparison.window} steps" if comparison.window > 1 else ""
    figure.suptitle(f"{title or 'learning curves'} (mean ± std over seeds{smoothing})")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:  # outside the axes, to the right: it never covers a curve
        figure.legend(handles, labels, loc="outside right upper", fontsize="small", frameon=False)
    return figure


def by_algorithm_figure(comparison: Comparison, *, title: str | None = None) -> Any:
    """The figure `plot_by_algorithm` saves."""
    by_algorithm: dict[str, list[str]] = {}
    for name in comparison.groups:
        by_algorithm.setdefault(split_label(name)[0], []).append(name)
    figure, axes = _figure(len(by_algorithm), width=4.6, sharey=True)
    styles = group_styles(list(comparison.groups))
    for axis, (algorithm, names) in zip(axes, by_algorithm.items(), strict=True):
        for name in names:
            runs = comparison.groups[name]
            data = curve(runs, "reward", window=comparison.window, x="num_samples")
            if data is not None:
                label = f"{split_label(name)[1] or algorithm} ({_seeds(runs)})"
                _draw(axis, data, styles[name], label, band_alpha=0.12)
        if comparison.threshold is not None:
            axis.axhline(comparison.threshold, color="0.45", linestyle=(0, (4, 3)), linewidth=0.9)
        axis.set(title=algorithm, xlabel="generated samples")
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small", loc="best", framealpha=0.85)
    axes[0].set_ylabel("reward (mean ± std over seeds)")
    smoothing = f" (smoothed over {comparison.window} steps)" if comparison.window > 1 else ""
    figure.suptitle(f"{title or 'reward at the same sampling budget, per algorithm'}{smoothing}")
    return figure


def has_settings(comparison: Comparison) -> bool:
    """Whether some algorithm appears with more than one setting (then small multiples help)."""
    algorithms = [split_label(name)[0] for name in comparison.groups]
    return len(algorithms) != len(set(algorithms))


def _figure(panels: int, *, width: float, sharey: bool = False) -> tuple[Any, list[Any]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width * panels + 2.6, 4.4), layout="constrained")
    FigureCanvasAgg(figure)  # render with Agg: no display, no pyplot state
    axes = figure.subplots(1, panels, sharey=sharey, squeeze=False)[0]
    return figure, list(axes)


def _draw(axis: Any, data: Any, style: Style, label: str, *, band_alpha: float) -> None:
    every = max(1, int(np.ceil(data.x.size / _MARKS_PER_LINE)))
    axis.plot(
        data.x,
        data.mean,
        color=style.color,
        linestyle=style.linestyle,
        marker=style.marker,
        markersize=3.5,
        markevery=every,
        linewidth=1.6,
        label=label,
    )
    band = ~np.isnan(data.std)
    if band.any():
        low, high = (data.mean - data.std)[band], (data.mean + data.std)[band]
        axis.fill_between(data.x[band], low, high, color=style.color, alpha=band_alpha, linewidth=0)


def _save(figure: Any, output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)
    return output


def _seeds(runs: list[Any]) -> str:
    return f"{len(runs)} seed{'s' if len(runs) != 1 else ''}"
