"""`gnivo export RUN -o DIR [--merge]`: a trained model as a folder to hand on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export(
    run: Annotated[
        Path, typer.Argument(metavar="RUN", help="A training output dir (its final/ model), or RUN/checkpoint-N.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="New (or empty) folder to write the model to.")],
    merge: Annotated[
        bool,
        typer.Option("--merge", help="Merge a LoRA adapter into the base model's weights: loads with no peft."),
    ] = False,
    dtype: Annotated[
        str | None,
        typer.Option(help="dtype of merged weights: float32, bfloat16, float16.", show_default="the recipe's"),
    ] = None,
) -> None:
    """Export a run's model with its tokenizer and model card: the LoRA adapter merged into full weights
    (--merge; loadable by transformers and vLLM with no peft), or the model as it is.

    Example: gnivo export runs/quickstart --merge -o models/quickstart
    """
    from gnivo_cli.console import console, err_console
    from gnivo_cli.training.export import export_run

    with err_console.status(f"Exporting {run} ..."):
        done = export_run(run, output, merge=merge, dtype=dtype)
    for note in done.notes:
        err_console.print(f"[yellow]{note}[/]", highlight=False)
    what = {
        "merged": "the LoRA adapter merged into full weights",
        "adapter": "the LoRA adapter as it is (add --merge for full weights)",
        "full": "the full model as it is",
    }[done.kind]
    size = sum(f.stat().st_size for f in done.output.rglob("*") if f.is_file()) / 2**20
    console.print(f"wrote {done.output} ({what}, {size:.1f} MiB) from {done.source}", highlight=False)
    loader = "peft.AutoPeftModelForCausalLM" if done.kind == "adapter" else "transformers.AutoModelForCausalLM"
    console.print(
        f"[dim]load with {loader}.from_pretrained({str(done.output)!r}); README.md shows how[/]", highlight=False
    )
