"""A `ValuesReport` in the terminal (rich): each completion with its tokens coloured by value, its steps with their
numbers, and its reward; or, `brief`, one table row per completion."""

from __future__ import annotations

from typing import Any, Literal

from gnivo_cli.values.colors import diverging, hex_color, readable_text
from gnivo_cli.values.report import PromptReport, ScoredCompletion, ValuesReport, shown_tokens

ColorBy = Literal["value", "change"]
#: Steps listed per completion; the rest are counted (the JSON has them all).
MAX_STEP_ROWS = 16


def render(console: Any, report: ValuesReport, *, color_by: ColorBy = "value", brief: bool = False) -> None:
    from rich.markup import escape
    from rich.rule import Rule

    target = report.target
    console.print(f"[bold]{escape(str(target['model']))}[/] against [bold]{escape(str(target['reference']))}[/]")
    console.print(f"[dim]values: {escape(target['scale_note'])}; steps: {_unit(target)}[/]")
    limit = report.value_limit() if color_by == "value" else report.change_limit()
    console.print(_legend(limit, color_by))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    for prompt in report.prompts:
        console.print(Rule(escape(prompt.label), align="left"))
        console.print(f"[bold]prompt:[/] {escape(prompt.question)}")
        if brief:
            console.print(_brief_table(prompt))
            continue
        for rank, completion in enumerate(prompt.completions, start=1):
            console.print()
            console.print(_header(rank, completion))
            console.print(_tokens(completion, limit, color_by, report.scale))
            console.print(_steps_table(completion))


def _unit(target: dict[str, Any]) -> str:
    if target["unit"] == "token":
        return "every token (unit: token)"
    return f"split after each {target['step_separator']!r} (unit: step)"


def _legend(limit: float, color_by: ColorBy) -> Any:
    from rich.text import Text

    what = "value of the text so far" if color_by == "value" else "each token's own change"
    legend = Text(f"colour: {what}  ")
    for share in (-1.0, -0.5, 0.0, 0.5, 1.0):
        rgb = diverging(share * limit, limit)
        label = f" {share * limit:+.2f} "
        legend.append(label, style=f"{hex_color(readable_text(rgb))} on {hex_color(rgb)}")
    legend.append("  (red: lower than the prompt's value, blue: higher)", style="dim")
    return legend


def _header(rank: int, completion: ScoredCompletion) -> str:
    values = completion.values
    reward = "—" if completion.reward is None else f"{completion.reward:.3g}"
    parts = [f"[bold]#{rank}[/]", f"reward [bold]{reward}[/]"]
    if values.step_values:
        parts.append(f"lowest step value {values.min_step_value:+.3f} (step {values.lowest_step + 1})")
    parts.append(f"final value {values.final_value:+.3f}")
    parts.append(f"{len(completion.tokens)} tokens" + ("" if completion.finished else ", cut at the token limit"))
    return "  ".join(parts)


def _tokens(completion: ScoredCompletion, limit: float, color_by: ColorBy, scale: float) -> Any:
    from rich.text import Text

    text = Text()
    numbers = completion.values.values if color_by == "value" else [scale * r for r in completion.values.log_ratios]
    for (shown, line_break), number in zip(shown_tokens(completion.tokens), numbers, strict=True):
        rgb = diverging(number, limit)
        text.append(shown, style=f"{hex_color(readable_text(rgb))} on {hex_color(rgb)}")
        if line_break:
            text.append("\n")
    return text


def _steps_table(completion: ScoredCompletion) -> Any:
    from rich.markup import escape
    from rich.table import Table

    values = completion.values
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="dim")
    table.add_column("step", justify="right")
    table.add_column("text", overflow="ellipsis", no_wrap=True, max_width=48)
    table.add_column("value", justify="right")
    table.add_column("change", justify="right")
    table.add_column("")
    shown = min(len(values.step_ends), MAX_STEP_ROWS)
    for index in range(shown):
        marker = "[bold red]◀ lowest[/]" if index == values.lowest_step and len(values.step_ends) > 1 else ""
        table.add_row(
            str(index + 1),
            escape(completion.step_text(index).replace("\n", "↵")),
            f"{values.step_values[index]:+.3f}",
            f"{values.step_changes[index]:+.3f}",
            marker,
        )
    if len(values.step_ends) > shown:
        table.add_row("…", f"{len(values.step_ends) - shown} more steps (--json has every number)", "", "")
    return table


def _brief_table(prompt: PromptReport) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title_justify="left")
    for name in ("#", "reward", "lowest step", "final"):
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    table.add_column("completion", overflow="ellipsis", no_wrap=True, max_width=60)
    for rank, completion in enumerate(prompt.completions, start=1):
        values = completion.values
        table.add_row(
            str(rank),
            "—" if completion.reward is None else f"{completion.reward:.3g}",
            f"{values.min_step_value:+.3f}",
            f"{values.final_value:+.3f}",
            escape(completion.text.replace("\n", "↵")),
        )
    return table


def progress_stage(console: Any) -> Any:
    """For `compute_values(stage=...)`: a transient progress bar per stage (count, rate, time left), or a spinner
    where there is nothing to count; nothing when `console` is not a terminal."""
    from contextlib import contextmanager

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    @contextmanager
    def stage(description: str, total: int):
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total:
            columns += [
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            ]
        with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task(description, total=total or None)
            yield lambda done: bar.advance(task, done)

    return stage
