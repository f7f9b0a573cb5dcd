"""`gnivo eval`: evaluate a model on a benchmark (pass@k, avg@N)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gnivo_cli.errors import GnivoError, Interrupted
from gnivo_cli.evaluation.results import SCORE_PREFIXES
from gnivo_cli.evaluation.settings import EvalSettings

if TYPE_CHECKING:
    from rich.table import Table

_GEN = "Generation"
_OUT = "Data and output"
#: Defaults are EvalSettings' own; options left unset take them.
_DEFAULT = {f.name: f.default for f in dataclasses.fields(EvalSettings)}


def evaluate(
    bench: Annotated[
        str | None, typer.Option("--bench", "-b", help="Benchmark name (see --list).", show_default=False)
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="Model: embedded, a hub id, a local or adapter folder, a training output folder."
        ),
    ] = _DEFAULT["model"],
    pass_at: Annotated[
        list[int] | None,
        typer.Option("--pass-at", "-k", help="Report pass@K; repeat for several K.", show_default="1"),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option("--samples", "-n", help="Samples per problem.", show_default="the largest K"),
    ] = None,
    temperature: Annotated[
        float, typer.Option(help="Sampling temperature; 0 is greedy.", rich_help_panel=_GEN)
    ] = _DEFAULT["temperature"],
    top_p: Annotated[float, typer.Option("--top-p", help="Nucleus sampling mass.", rich_help_panel=_GEN)] = _DEFAULT[
        "top_p"
    ],
    max_new_tokens: Annotated[
        int, typer.Option("--max-new-tokens", help="Most tokens generated per sample.", rich_help_panel=_GEN)
    ] = _DEFAULT["max_new_tokens"],
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            help="hf: sequences per generate call; vllm: problems per generate call.",
            show_default="hf 32, vllm all",
            rich_help_panel=_GEN,
        ),
    ] = None,
    backend: Annotated[str, typer.Option(help="Generation backend: hf or vllm.", rich_help_panel=_GEN)] = _DEFAULT[
        "backend"
    ],
    seed: Annotated[int, typer.Option(help="Sampling seed.", rich_help_panel=_GEN)] = _DEFAULT["seed"],
    prompt_template: Annotated[
        str | None,
        typer.Option(
            "--prompt-template",
            help="User message: {problem} is the problem, {field} another field of the rows; {{ and }} are "
            "literal braces, other braces stay as written (\\boxed{}).",
            show_default="the benchmark's (math: {problem} + an instruction to answer in \\boxed{})",
            rich_help_panel=_GEN,
        ),
    ] = None,
    system_prompt: Annotated[
        str | None,
        typer.Option("--system-prompt", help="System message.", show_default="the benchmark's", rich_help_panel=_GEN),
    ] = None,
    dtype: Annotated[
        str | None,
        typer.Option(help="Model dtype: auto, float32, bfloat16, float16.", show_default="auto", rich_help_panel=_GEN),
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="Device for hf: cpu, cuda, ...", show_default="cuda if any", rich_help_panel=_GEN)
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Local JSONL with the benchmark's fields, or a folder holding its file (instead of the hub).",
            rich_help_panel=_OUT,
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first L problems.", rich_help_panel=_OUT)] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            "-o",
            help="Where samples.jsonl and results.json go; rerun into it to resume.",
            show_default="gnivo-eval/BENCH/MODEL-HASH",
            rich_help_panel=_OUT,
        ),
    ] = None,
    num_processes: Annotated[
        int | None,
        typer.Option(
            "--num-processes",
            help="hf: spread the problems over N processes (relaunched with `accelerate launch`); same samples.",
            rich_help_panel=_GEN,
        ),
    ] = None,
    value_ref: Annotated[
        str | None,
        typer.Option(
            "--value-ref",
            help="Also pick 1 of k by implicit value (docs/values.md) against this reference model; none: off.",
            show_default="a gnivo run's own base model, else none",
        ),
    ] = None,
    list_benchmarks: Annotated[bool, typer.Option("--list", help="List the benchmarks and exit.")] = False,
) -> None:
    """Evaluate a model on a benchmark: sample N answers per problem, judge them with the benchmark's
    reward, report pass@k, avg@N and maj@k (and, for a gnivo run, the pick of k by implicit value).

    Example: gnivo eval --bench aime24 --pass-at 1 --pass-at 3
    """
    from rich.markup import escape

    from gnivo_cli.console import console, err_console

    if list_benchmarks:
        console.print(benchmarks_table())
        return
    if bench is None:
        raise GnivoError("--bench is required (see `gnivo eval --list` for the names)")

    from gnivo_cli.evaluation.runner import evaluate as run_evaluate
    from gnivo_cli.evaluation.sharding import Shard
    from gnivo_cli.training.launch import in_launched_worker, invocation, relaunch

    settings = EvalSettings.build(
        bench,
        model=model,
        pass_at=tuple(pass_at or _DEFAULT["pass_at"]),
        samples=samples,
        temperature=temperature,
        top_p=top_p,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        data=data,
        limit=limit,
        backend=backend,
        seed=seed,
        prompt_template=prompt_template,
        system_prompt=system_prompt,
        dtype=dtype,
        device=device,
        value_ref=value_ref,
    )
    if num_processes is not None and not in_launched_worker():
        if settings.backend != "hf":
            raise GnivoError("--num-processes spreads the hf backend; vllm uses every GPU it is given by itself")
        raise typer.Exit(relaunch(invocation(), num_processes=num_processes, config_file=None))
    _quiet_transformers()
    try:
        result = run_evaluate(
            settings,
            output_dir=output_dir,
            progress=True,
            on_warning=lambda note: err_console.print(f"[yellow]warning:[/] {escape(note)}"),
        )
    except (KeyboardInterrupt, Interrupted):  # Interrupted: Ctrl-C while the reward judged, which it names
        err_console.print("[yellow]Finished batches are saved: rerun the same command to resume.[/]")
        raise
    if not Shard.from_environment().is_main:
        return  # process 0 reports for all
    console.print(results_table(result.results))
    console.print(f"[dim]samples:[/] {escape(str(result.samples_path))}", soft_wrap=True)
    console.print(f"[dim]results:[/] {escape(str(result.results_path))}", soft_wrap=True)


def results_table(results: dict[str, Any]) -> Table:
    """The scores of a results.json as a rich table."""
    from rich.markup import escape
    from rich.table import Table

    settings = results["settings"]
    table = Table(title=escape(f"{results['benchmark']} · {results['model']}"), title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in results.items():
        if key.startswith(SCORE_PREFIXES):
            table.add_row(f"[bold]{_score_label(key)}[/]", f"[bold]{100 * value:.1f}%[/]")
    table.add_section()
    table.add_row("problems", str(results["num_problems"]))
    table.add_row("samples per problem", str(results["samples_per_problem"]))
    table.add_row("solved (any sample)", f"{results['problems_solved']} / {results['num_problems']}")
    table.add_row("no answer found", f"{100 * results['no_answer_rate']:.1f}%")
    table.add_row("hit max tokens", f"{100 * results['truncated_rate']:.1f}%")
    if results.get("checker_timeouts"):
        table.add_row("checker timeouts", str(results["checker_timeouts"]))
    table.add_row("tokens generated", f"{results['tokens_generated']:,}")
    table.add_row("temperature / top-p", f"{settings['temperature']} / {settings['top_p']}")
    timing = results.get("timing", {})
    if timing:
        rate = timing.get("samples_per_second")
        generated = f"{timing['samples_generated']} generated, {timing['samples_resumed']} resumed"
        table.add_row("samples", generated)
        table.add_row("time", f"{timing['seconds']:.1f} s" + (f" ({rate:.2f} samples/s)" if rate else ""))
    return table


def _score_label(key: str) -> str:
    """`value_min@4` -> `best of 4 by lowest step value`; pass@k, avg@N and maj@k as they are."""
    name, _, k = key.partition("@")
    readings = {"value_min": "lowest step value", "value_final": "final value"}
    return f"best of {k} by {readings[name]}" if name in readings else key


def benchmarks_table() -> Table:
    from rich.markup import escape
    from rich.table import Table

    from gnivo_cli.evaluation.benchmarks import BENCHMARKS, plugin_benchmarks

    table = Table(
        title="Benchmarks",
        title_justify="left",
        caption="Built-in benchmarks are judged by the math reward; plugins name their own.",
        caption_justify="left",
    )
    table.add_column("name", no_wrap=True, style="bold", min_width=13)
    table.add_column("problems", justify="right")
    table.add_column(escape("Hugging Face dataset [split]"), overflow="fold")
    table.add_column("gold answer", overflow="fold")
    table.add_column("--data file", overflow="fold")
    for b in BENCHMARKS.values():
        table.add_row(b.name, str(b.size), escape(b.source), escape(b.gold_rule), b.data_file)
    plugins = plugin_benchmarks()
    if plugins:
        table.add_section()
    for info in plugins:  # read from source, not imported: a broken plugin cannot break the listing
        where = f"plugin: {info.distribution} {info.version}"
        about = info.description if info.status == "ok" else f"[red]broken:[/] {escape(info.error or '')}"
        table.add_row(info.name, "", escape(where), about, "")
    return table


def _quiet_transformers() -> None:
    # Weight-loading progress bars would interleave with ours.
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()
