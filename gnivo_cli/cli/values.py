"""`gnivo values MODEL_OR_RUN`: a trained policy's implicit step values, α·log π_θ/π_ref, shown per token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gnivo_cli.errors import GnivoError
from gnivo_cli.values.sources import DEFAULT_LIMIT

_IN = "Prompts and completions"
_GEN = "Generation"
_READ = "Reading the values"
_OUT = "Output"


def values(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL_OR_RUN",
            help="A gnivo run directory (or RUN/checkpoint-N), a LoRA adapter folder, or any model with --ref.",
        ),
    ],
    prompt: Annotated[
        list[str] | None,
        typer.Option("--prompt", "-p", help="A prompt, put into the run's template; repeatable.", rich_help_panel=_IN),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="JSONL: prompts (generate), or prompt + completion rows (score them; a run's completions.jsonl).",
            rich_help_panel=_IN,
        ),
    ] = None,
    eval_dir: Annotated[
        Path | None,
        typer.Option("--eval", help="A `gnivo eval` output folder: score its samples.", rich_help_panel=_IN),
    ] = None,
    logged: Annotated[
        bool,
        typer.Option(
            "--logged", help="Score the run's own completions.jsonl (training.log_completions).", rich_help_panel=_IN
        ),
    ] = False,
    step: Annotated[
        int | None,
        typer.Option(help="Which training step's logged completions.", show_default="the last", rich_help_panel=_IN),
    ] = None,
    prompt_column: Annotated[
        str | None,
        typer.Option(
            "--prompt-column",
            help="The --data column holding prompts.",
            show_default="the run's, else prompt",
            rich_help_panel=_IN,
        ),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            "-c",
            help="A column for --prompt, key=value (e.g. answer=7 for the math reward).",
            rich_help_panel=_IN,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            help="Only the first N prompts of --data, --eval or --logged.",
            show_default=str(DEFAULT_LIMIT),
            rich_help_panel=_IN,
        ),
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", "-n", help="Completions generated per prompt.", rich_help_panel=_GEN)
    ] = 4,
    seed: Annotated[int, typer.Option(help="Sampling seed.", rich_help_panel=_GEN)] = 0,
    temperature: Annotated[
        float | None,
        typer.Option(
            help="Sampling temperature; 0 is greedy.", show_default="the run's, else 1.0", rich_help_panel=_GEN
        ),
    ] = None,
    top_p: Annotated[
        float | None,
        typer.Option(
            "--top-p", help="Nucleus sampling mass.", show_default="the run's, else 1.0", rich_help_panel=_GEN
        ),
    ] = None,
    max_new_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-new-tokens",
            help="Most tokens generated per completion.",
            show_default="the run's, else 128",
            rich_help_panel=_GEN,
        ),
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option(
            help="The reference model.",
            show_default="the run's base model (a LoRA adapter disabled)",
            rich_help_panel=_READ,
        ),
    ] = None,
    alpha: Annotated[
        float | None,
        typer.Option(
            help="Scale: values are α·log π_θ/π_ref.",
            show_default="the run's algorithm.alpha, else 1",
            rich_help_panel=_READ,
        ),
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option(
            help="Steps: step (split after the separator) or token.", show_default="the run's", rich_help_panel=_READ
        ),
    ] = None,
    separator: Annotated[
        str | None,
        typer.Option(
            help="What ends a step; escapes such as \\n are read.",
            show_default="the run's, else a blank line",
            rich_help_panel=_READ,
        ),
    ] = None,
    reward: Annotated[
        str | None,
        typer.Option(
            "--reward",
            "-r",
            help="Score with this reward instead of the run's (or the recorded ones).",
            rich_help_panel=_READ,
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="--reward parameter key=value; repeatable.", rich_help_panel=_READ),
    ] = None,
    html: Annotated[
        Path | None, typer.Option(help="Write one self-contained page (no network).", rich_help_panel=_OUT)
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write a PNG: the value along each completion.", rich_help_panel=_OUT)
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write every number as JSON.", rich_help_panel=_OUT)
    ] = None,
    color_by: Annotated[
        str,
        typer.Option(
            "--color-by", help="Terminal colours: value (so far) or change (each token's own).", rich_help_panel=_OUT
        ),
    ] = "value",
    brief: Annotated[bool, typer.Option(help="In the terminal, one row per completion.", rich_help_panel=_OUT)] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Sequences per forward pass.", rich_help_panel=_GEN)
    ] = 8,
    dtype: Annotated[str | None, typer.Option(help="auto, float32, bfloat16, float16.", rich_help_panel=_GEN)] = None,
    device: Annotated[
        str | None, typer.Option(help="cpu, cuda, ...", show_default="cuda if any", rich_help_panel=_GEN)
    ] = None,
) -> None:
    """Show a trained policy's implicit step values: each token coloured by α·log π_θ/π_ref of the text so far.

    Example: gnivo values runs/quickstart --prompt "What is 3 + 4?" --column answer=7 -n 8 --html values.html
    """
    from gnivo_cli.console import console, err_console
    from gnivo_cli.files.paths import check_output_file
    from gnivo_cli.scoring.score import parse_params
    from gnivo_cli.values import terminal
    from gnivo_cli.values.compute import ValuesSettings, compute_values
    from gnivo_cli.values.sources import read_items
    from gnivo_cli.values.target import resolve_target

    if unit not in (None, "step", "token"):
        raise GnivoError(f"--unit must be step or token, got {unit!r}")
    if color_by not in ("value", "change"):
        raise GnivoError(f"--color-by must be value or change, got {color_by!r}")
    for path, option, suffixes in (
        (html, "--html", {"html": "", "htm": ""}),
        (plot, "--plot", {"png": ""}),
        (json_file, "--json", {"json": ""}),
    ):
        if path is not None:
            check_output_file(path, option, suffixes)
    settings = ValuesSettings(
        samples=samples, seed=seed, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
        batch_size=batch_size, reward=reward, reward_params=parse_params(param), dtype=dtype, device=device,
    )  # fmt: skip
    if settings.problems():
        raise GnivoError("; ".join(settings.problems()))
    if separator is not None and "\\" in separator:  # typed in a shell: `\n` means a newline
        import codecs

        separator = codecs.decode(separator, "unicode_escape")
    target = resolve_target(model, ref=ref, unit=unit, separator=separator, alpha=alpha)  # type: ignore[arg-type]
    items, notes = read_items(
        target, prompts=prompt or [], data=data, eval_dir=eval_dir, logged=logged, step=step,
        prompt_column=prompt_column, columns=_columns(column), limit=limit,
    )  # fmt: skip
    _quiet_transformers()
    report = compute_values(target, items, settings, stage=terminal.progress_stage(err_console))
    report.notes[:0] = notes

    terminal.render(console, report, color_by=color_by, brief=brief)  # type: ignore[arg-type]
    written = []
    if json_file is not None:
        from gnivo_cli.values.export import write_json

        written.append(write_json(report, json_file))
    if html is not None:
        from gnivo_cli.values.html import write_html

        written.append(write_html(report, html))
    if plot is not None:
        from gnivo_cli.values.plot import write_plot

        written.append(write_plot(report, plot))
    for path in written:
        console.print(f"[dim]wrote[/] {path}", highlight=False, soft_wrap=True)


def _columns(items: list[str] | None) -> dict[str, str]:
    columns = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GnivoError(f"--column {item!r}: expected key=value, e.g. --column answer=7")
        columns[key.strip()] = value
    return columns


def _quiet_transformers() -> None:
    # Loading bars and deprecation notices of library internals would interleave with the output.
    import warnings

    from transformers.utils import logging

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|trl|peft)\b")
    logging.disable_progress_bar()
    logging.set_verbosity_error()
