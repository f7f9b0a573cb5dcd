"""The layout of a `gnivo train` output directory, in one place.

    recipe.yaml        the resolved recipe (written when training starts)
    prompts.txt        the data's first prompts as the model receives them (written with recipe.yaml)
    metrics.jsonl      one row per optimizer step
    resumes.jsonl      one row per `--resume`: from which step, and what the recipe changed
    checkpoint-N/      trainer checkpoints; complete once `gnivo_state.json` is in it (written last)
    final/             the trained adapter or model
    summary.json       written once the run has finished

Reads only files: no torch, so `gnivo plot` and `gnivo compare` stay light.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError

RECIPE_FILE = "recipe.yaml"
PROMPTS_FILE = "prompts.txt"
METRICS_FILE = "metrics.jsonl"
RESUMES_FILE = "resumes.jsonl"
SUMMARY_FILE = "summary.json"
FINAL_DIR = "final"
#: gnivo's own part of a checkpoint (counters, random generators); its presence marks the checkpoint complete.
CHECKPOINT_STATE_FILE = "gnivo_state.json"
CHECKPOINT_RNG_FILE = "gnivo_rng.pt"

_CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_step(path: Path) -> int | None:
    """N for a `checkpoint-N` directory name, else None."""
    match = _CHECKPOINT_NAME.match(Path(path).name)
    return int(match.group(1)) if match else None


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    """Where the trainer saves the checkpoint of optimizer step `step`."""
    return Path(run_dir) / f"checkpoint-{step}"


def checkpoints(run_dir: Path) -> list[Path]:
    """All `checkpoint-N` directories of a run, oldest first."""
    found = [p for p in Path(run_dir).iterdir() if p.is_dir() and checkpoint_step(p) is not None]
    return sorted(found, key=lambda p: checkpoint_step(p) or 0)


def is_complete_checkpoint(path: Path) -> bool:
    """Written to the end: gnivo's state file is the last thing a checkpoint receives."""
    return (Path(path) / CHECKPOINT_STATE_FILE).is_file()


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete `checkpoint-N` of a run (an interrupted save is skipped), if any."""
    if not Path(run_dir).is_dir():
        return None
    complete = [p for p in checkpoints(run_dir) if is_complete_checkpoint(p)]
    return complete[-1] if complete else None


def incomplete_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoints a crash left half-written (no state file)."""
    return [p for p in checkpoints(run_dir) if not is_complete_checkpoint(p)]


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """metrics.jsonl's rows. A torn last line (the process died mid-write: no newline yet) is read as absent.

    Any other line that is not a JSON object is an error naming the file and line.
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines) and not text.endswith("\n"):
                break  # the one line a kill can tear: a row is written with its newline last
            raise GnivoError(f"{path}:{number}: invalid JSON (only the last line can be torn by a crash)") from None
        if not isinstance(row, dict):
            raise GnivoError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


def read_recipe(run_dir: Path, *, why: str = "") -> dict[str, Any] | None:
    """The run's recipe.yaml as plain data; None where it is missing or not a mapping. Invalid YAML is an
    error naming the file, and `why` it was read where given."""
    import yaml

    path = Path(run_dir) / RECIPE_FILE
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise GnivoError(f"{path}: not valid YAML ({error})" + (f"; {why}" if why else "")) from None
    return data if isinstance(data, dict) else None


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None where it is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
