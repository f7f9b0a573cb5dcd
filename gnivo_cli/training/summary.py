"""summary.json, the record of a finished run (written last), and finishing a run that stopped before it.

A run stopped while it finished (saving final/ or summary.json) has trained every step: the trainer saves a
checkpoint at max_steps. `finish_from_checkpoint` completes such a run without training: final/ gets the
checkpoint's model and tokenizer files (what the final save writes), summary.json the checkpoint's counters
and the metrics' final values.
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path
from typing import Any

from gnivo_cli.files.atomic import write_json_atomic
from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.training import run_files

#: What a checkpoint holds beyond the model and tokenizer: the trainer's state, which final/ does not carry.
_TRAINER_STATE = (
    "optimizer*",
    "scheduler.pt",
    "scaler.pt",
    "rng_state*",
    "trainer_state.json",
    "global_step*",
    "latest",
    "zero_to_fp32.py",
    run_files.CHECKPOINT_STATE_FILE,
    run_files.CHECKPOINT_RNG_FILE,
)


def summary_record(
    recipe: Any,
    *,
    steps: int,
    total_time: float | None,
    timings: dict[str, float],
    samples_generated: int,
    tokens_generated: int,
    final_reward: float | None,
    final_boxed_correct_share: float | None,
    peak_memory_mb: float | None,
    reward_counters: dict[str, float],
) -> dict[str, Any]:
    summary = {
        "algorithm": recipe.algorithm.name,
        "seed": recipe.training.seed,
        "steps": steps,
        "total_time": None if total_time is None else round(total_time, 2),
        "timings": {key: round(value, 2) for key, value in timings.items()},
        "samples_generated": samples_generated,
        "tokens_generated": tokens_generated,
        "final_reward": final_reward,
        "peak_memory_mb": peak_memory_mb,
        "reward_counters": reward_counters,
    }
    if final_boxed_correct_share is not None:
        summary["final_boxed_correct_share"] = final_boxed_correct_share
    return summary


def trainer_summary(recipe: Any, trainer: Any, result: Any) -> dict[str, Any]:
    """The summary of a run `trainer` just finished (`result`: a TrainResult)."""
    counters = {
        f"{function.__name__}/{key}": value
        for function in trainer.gnivo_reward_functions
        for key, value in function.counters.items()
    }
    record = summary_record(
        recipe,
        steps=result.steps,
        total_time=result.total_time,
        timings=result.timings,
        samples_generated=trainer.samples_generated,
        tokens_generated=trainer.tokens_generated,
        final_reward=result.final_reward,
        final_boxed_correct_share=result.final_boxed_correct_share,
        peak_memory_mb=result.peak_memory_mb,
        reward_counters=counters,
    )
    record["example_prompt"] = _example_prompt(trainer)  # the model card's usage snippet asks it
    return record


def _example_prompt(trainer: Any) -> Any:
    """The first training prompt, as the model saw it (chat messages, or text)."""
    dataset = getattr(trainer, "train_dataset", None)
    return dataset[0].get("prompt") if dataset is not None and len(dataset) else None


def write_summary(output_dir: Path, summary: dict[str, Any]) -> None:
    write_json_atomic(Path(output_dir) / run_files.SUMMARY_FILE, summary)


def final_values(output_dir: Path) -> tuple[float | None, float | None]:
    """(final reward, final boxed-and-correct share): means over the last quarter of metrics.jsonl's steps."""
    from gnivo_cli.compare.curves import final_reward
    from gnivo_cli.compare.run_records import load_run
    from gnivo_cli.training.callbacks import BOXED_CORRECT_SHARE

    run = load_run(Path(output_dir))
    return final_reward(run), final_reward(run, BOXED_CORRECT_SHARE)


def finish_from_checkpoint(recipe: Any, output_dir: Path, checkpoint: Path) -> dict[str, Any]:
    """Write final/ and summary.json of a run that trained to `checkpoint` (its last step); returns the summary."""
    output_dir = Path(output_dir)
    final = output_dir / run_files.FINAL_DIR
    building = output_dir / f".{run_files.FINAL_DIR}.tmp"
    shutil.rmtree(building, ignore_errors=True)
    shutil.copytree(checkpoint, building, ignore=_trainer_state)
    if final.exists():
        shutil.rmtree(final)
    building.rename(final)

    (output_dir / run_files.SUMMARY_FILE).unlink(missing_ok=True)  # a torn one: rewritten below
    from gnivo_cli.algorithms.baselines import timing_breakdown

    state = read_json_object(checkpoint / run_files.CHECKPOINT_STATE_FILE, invalid="none") or {}
    counters = {
        f"{name}/{key}": value
        for name, values in (state.get("reward_counters") or {}).items()
        for key, value in values.items()
    }
    rows = run_files.read_metrics(output_dir)
    peaks = [row["peak_memory_mb"] for row in rows if isinstance(row.get("peak_memory_mb"), int | float)]
    reward, share = final_values(output_dir) if rows else (None, None)
    summary = summary_record(
        recipe,
        steps=int(state.get("step", run_files.checkpoint_step(checkpoint) or 0)),
        total_time=None,  # the wall time of a run finished in two goes is not known
        timings=timing_breakdown(dict(state.get("timings") or {})),
        samples_generated=int(state.get("samples_generated", 0)),
        tokens_generated=int(state.get("tokens_generated", 0)),
        final_reward=reward,
        final_boxed_correct_share=share,
        peak_memory_mb=max(peaks) if peaks else None,
        reward_counters=counters,
    )
    summary["finished_from"] = checkpoint.name
    write_summary(output_dir, summary)
    from gnivo_cli.training.model_card import write_model_card

    write_model_card(output_dir, final, "adapter" if recipe.lora.enabled else "full")
    return summary


def _trainer_state(directory: str, names: list[str]) -> set[str]:
    return {name for name in names if any(fnmatch.fnmatch(name, pattern) for pattern in _TRAINER_STATE)}
