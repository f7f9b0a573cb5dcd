"""`gnivo export`: a run's model as a folder to hand on: a LoRA adapter merged into full weights (`merge`),
loadable by transformers and vLLM with no peft, or the model as it is, with its tokenizer and model card.

The folder is written beside its destination and renamed into place at the end, so an interrupted export
leaves nothing that looks complete.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gnivo_cli.errors import GnivoError
from gnivo_cli.training import run_files


@dataclass(frozen=True)
class Export:
    """What `export_run` wrote: `kind` merged (adapter merged into the base), adapter or full (copied)."""

    output: Path
    source: Path
    kind: Literal["merged", "adapter", "full"]
    notes: tuple[str, ...] = ()


def export_source(run: Path) -> tuple[Path, Path]:
    """(run dir, model folder) for RUN (its final/) or RUN/checkpoint-N; a clear error for anything else."""
    run = Path(run)
    if not run.is_dir():
        raise GnivoError(f"{run}: no such run directory")
    if run_files.checkpoint_step(run) is not None and (run.parent / run_files.RECIPE_FILE).is_file():
        if not run_files.is_complete_checkpoint(run):
            raise GnivoError(f"{run}: this checkpoint was not completely written; export another one")
        return run.parent, run
    if not (run / run_files.RECIPE_FILE).is_file():
        raise GnivoError(f"{run}: not a gnivo training run (no {run_files.RECIPE_FILE})")
    final = run / run_files.FINAL_DIR
    if not final.is_dir():
        latest = run_files.latest_checkpoint(run)
        hint = f", or export {latest}" if latest is not None else ""
        raise GnivoError(f"{run}: no final model (the run has not finished): resume it with --resume{hint}")
    return run, final


def check_export_output(output: Path, source: Path) -> None:
    """The destination must be new or an empty folder, and not inside the run's model."""
    output = Path(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise GnivoError(f"-o {output}: exists and is not an empty folder; choose a new one")
    resolved = output.resolve()
    if resolved == source.resolve() or source.resolve() in resolved.parents:
        raise GnivoError(f"-o {output}: inside the model it exports ({source}); choose a folder outside it")


def export_run(run: Path, output: Path, *, merge: bool = False, dtype: str | None = None) -> Export:
    """Export RUN's final model (or RUN/checkpoint-N) to `output`; `merge` merges a LoRA adapter into the base."""
    from gnivo_cli.models.loading import is_adapter
    from gnivo_cli.training.model_card import write_model_card
    from gnivo_cli.training.train import quiet_library_warnings

    quiet_library_warnings()
    run_dir, source = export_source(run)
    output = Path(output)
    check_export_output(output, source)
    adapter = is_adapter(str(source))
    notes: list[str] = []
    if merge and not adapter:
        notes.append("a full fine-tune has no adapter to merge: its weights are copied as they are")
    kind: Literal["merged", "adapter", "full"] = "merged" if merge and adapter else "adapter" if adapter else "full"
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.exporting-", dir=output.parent))
    try:
        if kind == "merged":
            _save_merged(source, staging, dtype or _recipe_dtype(run_dir))
        else:
            shutil.copytree(source, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*_TRAINING_ONLY))
        write_model_card(run_dir, output, kind, written_to=staging)
        if output.exists():
            output.rmdir()  # empty, checked above
        staging.rename(output)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return Export(output=output, source=source, kind=kind, notes=tuple(notes))


#: What a checkpoint holds for resuming training, not for using the model.
_TRAINING_ONLY = (
    "optimizer.pt",
    "scheduler.pt",
    "rng_state*.pth",
    "trainer_state.json",
    "training_args.bin",
    run_files.CHECKPOINT_STATE_FILE,
    run_files.CHECKPOINT_RNG_FILE,
)


def _save_merged(source: Path, target: Path, dtype: str | None) -> None:
    from gnivo_cli.models.loading import load_causal_lm, load_tokenizer

    model = load_causal_lm(str(source), dtype=dtype).merge_and_unload()
    model.save_pretrained(target, safe_serialization=True)
    load_tokenizer(str(source)).save_pretrained(target)


def _recipe_dtype(run_dir: Path) -> str | None:
    recipe = run_files.read_recipe(run_dir) or {}
    return (recipe.get("model") or {}).get("dtype")
