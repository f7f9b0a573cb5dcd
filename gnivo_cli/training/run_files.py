"""The layout of a `gnivo train` output directory, in one place.

    recipe.yaml        the resolved recipe (written when training starts)
    prompts.txt        the data's first prompts as the model receives them (written with recipe.yaml)
    metrics.jsonl      one row per optimizer step
    eval.jsonl         one row per held-out evaluation (`training.eval`): step, benchmark, scores
    eval/step-N/       that evaluation's samples.jsonl, results.json and run.json, as `gnivo eval` writes them
    completions.jsonl  every generated completion (`training.log_completions`), one row each
    tensorboard/       TensorBoard event files (`training.report_to: tensorboard`)
    resumes.jsonl      one row per `--resume`: from which step, and what the recipe changed
    checkpoint-N/      trainer checkpoints; complete once `gnivo_state.json` is in it (written last)
    final/             the trained adapter or model, with gnivo's model card (README.md)
    summary.json       written once the run has finished
    gnivo.lock         held while a `gnivo train` writes the run (who holds it); a kill -9 may leave it, harmless

metrics.jsonl, eval.jsonl and completions.jsonl are appended as training goes and carry a `step` column;
a resumed run cuts their rows past the step it resumes from (`gnivo_cli.training.resume`).

Reads only files: no torch, so `gnivo plot` and `gnivo compare` stay light.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.files.jsonl import iter_jsonl

RECIPE_FILE = "recipe.yaml"
PROMPTS_FILE = "prompts.txt"
METRICS_FILE = "metrics.jsonl"
EVAL_FILE = "eval.jsonl"
EVAL_DIR = "eval"
COMPLETIONS_FILE = "completions.jsonl"
TENSORBOARD_DIR = "tensorboard"
#: The files of per-step rows (each row has a `step`), cut back together on resume.
STEP_FILES = (METRICS_FILE, EVAL_FILE, COMPLETIONS_FILE)
RESUMES_FILE = "resumes.jsonl"
SUMMARY_FILE = "summary.json"
FINAL_DIR = "final"
#: gnivo's own part of a checkpoint (counters, random generators); its presence marks the checkpoint complete.
CHECKPOINT_STATE_FILE = "gnivo_state.json"
CHECKPOINT_RNG_FILE = "gnivo_rng.pt"

_CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
_EVAL_NAME = re.compile(r"^step-(\d+)$")


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


def eval_dir(run_dir: Path, step: int) -> Path:
    """Where the held-out evaluation after optimizer step `step` keeps its samples."""
    return Path(run_dir) / EVAL_DIR / f"step-{step}"


def eval_step(path: Path) -> int | None:
    """N for an `eval/step-N` folder name, else None."""
    match = _EVAL_NAME.match(Path(path).name)
    return int(match.group(1)) if match else None


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """metrics.jsonl's rows (see `read_rows`)."""
    return read_rows(Path(run_dir) / METRICS_FILE)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """A run's JSONL file (metrics, eval, completions) as rows; none when it is missing. A torn last line
    (the process died mid-write: no newline yet) is read as absent.

    Any other line that is not a JSON object is an error naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        return []
    return [row for _, row in iter_jsonl(path, torn_tail_ok=True)]


def read_recipe(run_dir: Path, *, why: str = "") -> dict[str, Any] | None:
    """The run's recipe.yaml as plain data; None where it is missing or not a mapping. Invalid YAML is an
    error naming the file, and `why` it was read where given."""
    import yaml

    path = Path(run_dir) / RECIPE_FILE
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or getattr(error, "reason", None) or type(error).__name__
        raise GnivoError(f"{where}: not valid YAML ({problem})" + (f"; {why}" if why else "")) from None
    return data if isinstance(data, dict) else None


#: The first line of the recipe.yaml gnivo writes; the hash (of the rest) tells gnivo's own file from anyone else's.
_RECIPE_HEADER = "# gnivo train wrote this recipe (sha256 {digest}); the run's record of its experiment"
_HEADER_PATTERN = re.compile(r"^# gnivo train wrote this recipe \(sha256 ([0-9a-f]{16})\)")


def recipe_text(body: str) -> str:
    """recipe.yaml as gnivo writes it: a header line that identifies it, then the YAML."""
    return _RECIPE_HEADER.format(digest=_digest(body)) + "\n" + body


def recipe_origin(run_dir: Path) -> str | None:
    """Whose recipe.yaml `run_dir` holds: "gnivo" (as gnivo wrote it), "edited" (gnivo's, changed since),
    "foreign" (not gnivo's: no header), or None where there is none."""
    path = Path(run_dir) / RECIPE_FILE
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return "foreign"
    header, _, body = text.partition("\n")
    match = _HEADER_PATTERN.match(header)
    if match is None:
        return "foreign"
    return "gnivo" if match.group(1) == _digest(body) else "edited"


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
