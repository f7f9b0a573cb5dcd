"""`gnivo train RECIPE`: validate, train, report."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer


def train(
    recipe_path: Annotated[Path, typer.Argument(metavar="RECIPE", help="YAML recipe, e.g. recipes/quickstart.yaml.")],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a recipe key, e.g. --set algorithm.alpha=0.1 (a YAML value)."),
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", "-o", help="Where to write the run (overrides training.output_dir).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint in the output dir.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate the recipe and print it; train nothing.")
    ] = False,
    num_processes: Annotated[
        int | None,
        typer.Option("--num-processes", help="Train in N processes: relaunches this command with `accelerate launch`."),
    ] = None,
    accelerate_config: Annotated[
        Path | None,
        typer.Option(
            "--accelerate-config",
            help="An accelerate config (DDP, DeepSpeed, FSDP), e.g. recipes/accelerate/zero2.yaml.",
        ),
    ] = None,
) -> None:
    """Post-train a model with GN-IVO (or a baseline) as a YAML recipe describes."""
    from gnivo_cli.console import console, err_console
    from gnivo_cli.recipe.loader import load_recipe

    settings = list(overrides or [])
    if output_dir is not None:
        settings.append(f"training.output_dir={output_dir}")
    recipe = load_recipe(recipe_path, settings)
    from gnivo_cli.files.paths import check_output_dir

    check_output_dir(Path(recipe.training.output_dir), "--output-dir" if output_dir else "training.output_dir")
    if dry_run:
        console.print(recipe.to_yaml(), markup=False, highlight=False)
        return
    from gnivo_cli.training.launch import in_launched_worker, invocation, is_main_process, relaunch

    if (num_processes is not None or accelerate_config is not None) and not in_launched_worker():
        from gnivo_cli.training.run_lock import locked_for_workers

        run_dir = Path(recipe.training.output_dir)
        with locked_for_workers(run_dir, resume=resume):  # refused here at once, not in every worker
            if resume and num_processes is not None:
                from gnivo_cli.training import run_files
                from gnivo_cli.training.resume import check_world_size

                check_world_size(run_files.latest_checkpoint(run_dir), num_processes)
            code = relaunch(invocation(), num_processes=num_processes, config_file=accelerate_config)
        raise typer.Exit(code)

    if recipe.generation.use_vllm:
        from gnivo_cli.models.vllm_setup import missing_vllm
        from gnivo_cli.recipe.loader import recipe_error_at

        problem = missing_vllm("true")  # reads "generation.use_vllm: true needs vLLM, ..." after the key
        if problem:
            raise recipe_error_at(recipe, "generation.use_vllm", problem)

    from gnivo_cli.training.train import train as run_training

    algo = recipe.algorithm
    err_console.print(
        f"[bold]gnivo[/] {algo.name} · model [cyan]{recipe.model.name}[/] · K={algo.num_generations} · "
        f"{recipe.training.max_steps} steps -> [cyan]{recipe.training.output_dir}[/]",
        highlight=False,
    )
    from gnivo_cli.errors import TrainingInterrupted

    try:
        result = run_training(recipe, resume=resume, console=err_console)
    except TrainingInterrupted as stopped:
        if not is_main_process():
            raise typer.Exit(stopped.exit_code) from None
        err_console.print(f"[yellow]{stopped}[/]", highlight=False, soft_wrap=True)
        if stopped.resumable:
            err_console.print(f"resume with: {resume_command(stopped.output_dir)}", highlight=False, soft_wrap=True)
        raise typer.Exit(stopped.exit_code) from None
    if not result.already_finished:
        _print_summary(result)


def resume_command(output_dir: str) -> str:
    """The command that was run, with --resume and the run's folder."""
    from gnivo_cli.training.launch import invocation, original_command

    args = [a for a in original_command(invocation()) if a not in ("--resume", "--debug")]
    if "-o" not in args and "--output-dir" not in args and not any(a.startswith("--output-dir=") for a in args):
        args += ["-o", str(output_dir)]
    return shlex.join(["gnivo", *args, "--resume"])


def _print_summary(result) -> None:
    from rich.table import Table

    from gnivo_cli.console import console

    table = Table(title=f"Run finished: {result.steps} steps in {result.total_time:.1f} s", title_justify="left")
    table.add_column("phase")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    spent = sum(result.timings.values()) or 1.0
    labels = {"generation": "generation", "scoring": "reward scoring", "loss_backward": "loss / backward"}
    if "eval" in result.timings:
        labels["eval"] = "held-out eval"
    for key, label in labels.items():
        seconds = result.timings.get(key, 0.0)
        table.add_row(label, f"{seconds:.1f}", f"{100 * seconds / spent:.0f}%")
    console.print(table)
    if result.final_reward is not None:
        console.print(f"final reward (mean of the last quarter of steps): [bold]{result.final_reward:.3f}[/]")
    if result.final_boxed_correct_share is not None:
        share = result.final_boxed_correct_share
        console.print(f"answers boxed and correct (share, mean of the last quarter of steps): [bold]{share:.2f}[/]")
    console.print(f"outputs: {result.output_dir}/ (metrics.jsonl, recipe.yaml, final/)")
