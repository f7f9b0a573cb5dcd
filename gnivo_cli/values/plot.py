"""`--plot FILE.png`: the value along each completion, one panel per prompt, one line per completion (highest
reward first in the legend, which sits outside the data), small markers where steps end."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gnivo_cli.values.report import ValuesReport

#: Panels drawn; the JSON and the page hold every prompt.
MAX_PANELS = 6


def write_plot(report: ValuesReport, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prompts = report.prompts[:MAX_PANELS]
    figure, axes = plt.subplots(len(prompts), 1, figsize=(10, 3.2 * len(prompts)), squeeze=False)
    colors = plt.get_cmap("tab10").colors
    for axis, prompt in zip(axes[:, 0], prompts, strict=True):
        for rank, completion in enumerate(prompt.completions, start=1):
            values = completion.values
            xs = list(range(len(values.values) + 1))
            ys = [0.0, *values.values]
            color = colors[(rank - 1) % len(colors)]
            reward = "—" if completion.reward is None else f"{completion.reward:.3g}"
            style = "-" if rank <= len(colors) else "--"
            axis.plot(xs, ys, style, color=color, linewidth=1.3, label=f"#{rank}  reward {reward}")
            ends = [end + 1 for end in values.step_ends] if len(values.step_ends) < len(values.values) else []
            axis.plot(ends, [ys[e] for e in ends], "o", color=color, markersize=3)
        axis.axhline(0.0, color="#8c959f", linewidth=0.8, linestyle=":")
        axis.set_title(textwrap.shorten(f"{prompt.label}: {prompt.question}", 110), loc="left", fontsize=10)
        axis.set_xlabel("completion tokens")
        axis.set_ylabel("value")
        axis.spines[["top", "right"]].set_visible(False)
        axis.legend(
            loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, title="highest reward first"
        )
    dots = "; dots end steps" if report.target["unit"] == "step" else ""
    figure.suptitle(f"{report.target['model']}: {report.target['scale_note']}{dots}", fontsize=10, x=0.01, ha="left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path
