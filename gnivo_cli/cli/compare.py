"""`gnivo compare` (train algorithms x seeds, compare) and `gnivo plot` (the same figure from existing runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gnivo_cli.algorithms.table import ALGORITHMS

_THRESHOLD_HELP = "Reward threshold for 'steps to threshold' (default: midway between the first-step and best reward)."
_SMOOTH_HELP = (
    "Moving-average window (steps) for the curves and the threshold (default: a tenth of the steps; 1 = off)."
)


def compare(
    recipe_path: Annotated[Path, typer.Argument(metavar="RECIPE", help="YAML recipe, e.g. recipes/quickstart.yaml.")],
    algorithms: Annotated[
        str, typer.Option("--algorithms", "-a", help=f"Comma-separated, from: {', '.join(ALGORITHMS)}.")
    ] = "gnivo,grpo,rloo",
    seeds: Annotated[
        str,
        typer.Option("--seeds", help="How many seeds (from the recipe's training.seed on), or a list such as 0,1,2."),
    ] = "3",
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a recipe key for every run, e.g. --set training.max_steps=20."),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir", "-o", help="Where runs and results go (default: training.output_dir + '-compare')."
        ),
    ] = None,
    threshold: Annotated[float | None, typer.Option("--threshold", help=_THRESHOLD_HELP)] = None,
    smooth: Annotated[int | None, typer.Option("--smooth", min=1, help=_SMOOTH_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the runs that would train; train nothing.")] = False,
) -> None:
    """Train each algorithm x seed on one recipe (same sampling budget) and compare their learning curves.

    Runs go to DIR/<algorithm>/seed-<s>/, one after another; a failed run is reported and the rest go on.
    Rerunning with the same DIR skips finished runs and resumes interrupted ones. Writes DIR/compare.png,
    DIR/summary.md and DIR/compare.json.
    """
    from gnivo_cli.compare import grid, plan
    from gnivo_cli.console import console, err_console
    from gnivo_cli.errors import GnivoError
    from gnivo_cli.recipe.loader import load_recipe

    names = plan.parse_algorithms(algorithms)
    base = load_recipe(recipe_path, list(overrides or []))
    seed_list = plan.parse_seeds(seeds, base.training.seed)
    directory = output_dir or plan.default_output_dir(base)

    if dry_run:
        for run in plan.plan_runs(base, names, seed_list, directory):
            console.print(f"{run.algorithm:<14} seed {run.seed:<4} {_STATES[run.state]:<22} {run.path}", markup=False)
        return

    from rich.markup import escape

    def on_start(index: int, total: int, run) -> None:
        if run.state != "finished":
            heading = escape(f"[{index}/{total}] {run.algorithm} · seed {run.seed}")
            err_console.rule(f"[bold]{heading}[/] -> {escape(str(run.path))}")

    def on_end(index: int, total: int, outcome) -> None:
        run = outcome.run
        where = escape(f"[{index}/{total}] {run.algorithm} seed {run.seed}")
        if outcome.status == "skipped":
            err_console.print(f"[dim]{where}: finished earlier, skipped[/]", highlight=False)
        elif outcome.status == "failed":
            err_console.print(f"[bold red]{where} failed:[/] {escape(str(outcome.error))}", highlight=False)
        else:
            err_console.print(f"[green]{where}: {outcome.status} in {outcome.seconds:.0f} s[/]", highlight=False)

    result = grid.run_compare(
        base, names, seed_list, directory, threshold=threshold, window=smooth, on_start=on_start, on_end=on_end
    )
    if result.comparison is not None:
        _print_table(result.comparison, title=f"{len(result.outcomes)} runs in {directory}")
        for path in result.files:
            console.print(f"[dim]wrote[/] {path}", highlight=False)
    if result.failures:
        total = len(result.outcomes)
        first = result.failures[0]
        raise GnivoError(
            f"{len(result.failures)} of {total} runs failed (first: {first.run.algorithm} seed {first.run.seed}: "
            f"{first.error}); rerun the same command to retry them"
        )


_STATES = {
    "new": "to train",
    "finished": "finished: skipped",
    "resume": "to resume",
    "restart": "to restart (no checkpoint)",
}


def plot(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(metavar="RUN_DIR...", help="Training output dirs, or dirs holding them (e.g. a compare dir)."),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="PNG to write (default: RUN_DIR/compare.png for one dir, else ./compare.png)."
        ),
    ] = None,
    threshold: Annotated[float | None, typer.Option("--threshold", help=_THRESHOLD_HELP)] = None,
    smooth: Annotated[int | None, typer.Option("--smooth", min=1, help=_SMOOTH_HELP)] = None,
) -> None:
    """Draw the `gnivo compare` figure and table from existing runs (no training).

    Runs are grouped by the algorithm their summary.json or recipe.yaml names, and, where runs of one
    algorithm were trained with different recipes, by what differs (`gnivo num_iterations=2`): each such
    setting is a line of its own, and a second figure (NAME_by_algorithm.png) draws a panel per algorithm.
    Runs still training count with the steps they have logged.
    """
    from gnivo_cli.compare.curves import compare_runs
    from gnivo_cli.compare.grid import FIGURE_FILE
    from gnivo_cli.compare.plot import has_settings, plot_by_algorithm, plot_comparison
    from gnivo_cli.compare.run_records import find_runs, label_settings
    from gnivo_cli.console import console

    if output is not None:
        from matplotlib.backend_bases import FigureCanvasBase

        from gnivo_cli.files.paths import check_output_file

        check_output_file(output, "--output", FigureCanvasBase.get_supported_filetypes())
    comparison = compare_runs(label_settings(find_runs(run_dirs)), threshold=threshold, window=smooth)
    if output is None:
        output = run_dirs[0] / FIGURE_FILE if len(run_dirs) == 1 and run_dirs[0].is_dir() else Path(FIGURE_FILE)
    title = ", ".join(str(p) for p in run_dirs)
    title = title if len(title) < 80 else f"{len(run_dirs)} run dirs"
    written = [plot_comparison(comparison, output, title=title)]
    if has_settings(comparison):  # one algorithm in several settings: a panel per algorithm reads easier
        written.append(plot_by_algorithm(comparison, output.with_name(f"{output.stem}_by_algorithm{output.suffix}")))
    runs = sum(len(group) for group in comparison.groups.values())
    _print_table(comparison, title=f"{runs} run{'s' if runs != 1 else ''}")
    for path in written:
        console.print(f"[dim]wrote[/] {path}", highlight=False)


def _print_table(comparison, *, title: str) -> None:
    from rich.table import Table

    from gnivo_cli.compare.table import TABLE_HEADERS, definitions, table_rows
    from gnivo_cli.console import console

    table = Table(title=title, title_justify="left")
    for index, header in enumerate(TABLE_HEADERS):
        table.add_column(header, justify="left" if index == 0 else "right", style="bold" if index == 0 else None)
    for row in table_rows(comparison):
        table.add_row(*row)
    console.print(table)
    for text in definitions(comparison) + comparison.notes:
        console.print(f"[dim]· {text}[/]", highlight=False)
