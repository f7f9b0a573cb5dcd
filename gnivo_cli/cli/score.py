"""`gnivo score FILE.jsonl --reward NAME`: score completions with any reward plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def score(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="JSONL rows with prompt, completion and the reward's columns.")
    ],
    reward: Annotated[str, typer.Option("--reward", "-r", help="Reward name (see `gnivo rewards list`).")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Reward parameter key=value (a YAML value); repeatable."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write scored rows (default: FILE.scored.jsonl).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per reward call.")] = 64,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Overwrite an OUTPUT that is not a scored copy of FILE; drop an unfinished OUTPUT.partial."
        ),
    ] = False,
) -> None:
    """Score a JSONL file of completions with a reward; each output row gets a `reward` field.

    An interrupted run keeps its rows in OUTPUT.partial: rerun the same command to score only the rest.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from gnivo_cli.console import console, err_console
    from gnivo_cli.scoring.score import parse_params, score_file

    params = parse_params(param)
    with Progress(
        TextColumn("[bold]scoring[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task(f"with {reward}", total=None)
        summary = score_file(  # an interrupt says what it kept (score_file's `Interrupted`)
            file,
            reward,
            params,
            output=output,
            batch_size=batch_size,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            force=force,
        )
    console.print(f"[bold]{summary.reward}[/] scored {summary.input} -> [cyan]{summary.output}[/]", highlight=False)
    console.print(render_summary(summary))


def render_summary(summary):
    """The summary as a rich table: count, mean, share of each value, nulls, the reward's counters."""
    from rich.table import Table

    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="dim")
    table.add_column(justify="right")
    table.add_column(style="dim")
    count = summary.count
    table.add_row("rows", str(count), f"{summary.seconds:.1f} s")
    if summary.mean is not None:
        table.add_row("mean reward", f"{summary.mean:.4g}", "")
    if summary.values is not None:
        for value, rows in summary.values:
            table.add_row(f"reward = {value:g}", f"{rows / count:.1%}", _rows(rows))
    elif summary.mean is not None:
        table.add_row("min / median / max", f"{summary.minimum:.4g} / {summary.median:.4g} / {summary.maximum:.4g}", "")
    table.add_row("null (does not apply)", f"{summary.nulls / count:.1%}", _rows(summary.nulls))
    for key, value in sorted(summary.metrics.items()):
        if key == "timeouts" or value:
            table.add_row(key.replace("_", " "), f"{value:g}", "")
    return table


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"
