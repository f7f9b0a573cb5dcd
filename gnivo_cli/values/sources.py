"""The prompts `gnivo values` reads, with the completions to score where they are given.

- `--prompt TEXT`: put into the run's prompt template and system prompt, as training builds a prompt
  (without a run, the text is the user message); completions are generated.
- `--data FILE`: JSONL rows. Rows without a `completion` become prompts as training builds them from a
  data file; rows with one (a run's `completions.jsonl`, a `gnivo score` file) are given completions,
  grouped by prompt (and by `step` where rows have one: the last step unless `--step`), their prompt
  used as written (chat messages, or text as the user message). A torn last line is skipped.
- `--eval DIR`: a `gnivo eval` folder: its samples, each prompt rebuilt from the evaluation's own
  settings (benchmark, data, template), and each sample's verdict as its reward.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.files.jsonl import iter_jsonl
from gnivo_cli.recipe.sections import DataSection
from gnivo_cli.training.run_files import COMPLETIONS_FILE
from gnivo_cli.values.target import ValueTarget

#: Prompts read from a file when no limit is given (each costs K completions and two forward passes).
DEFAULT_LIMIT = 8
#: Fields of a logged or scored completion row that are not data columns (what a reward must not receive).
_LOG_FIELDS = ("prompt", "completion", "reward", "rewards", "step", "group", "weight", "advantage", "finish_reason")


@dataclass(frozen=True)
class GivenCompletion:
    text: str
    reward: float | None = None  # recorded with the completion (the run's reward, the eval verdict)
    has_reward: bool = False
    rewards: dict[str, float | None] = field(default_factory=dict)
    finished: bool | None = None  # ended with the end-of-sequence token; None: not known
    origin: dict[str, Any] = field(default_factory=dict)  # where it came from: step, sample index, line


@dataclass(frozen=True)
class PromptItem:
    """One prompt: as chat messages (what the model and the rewards receive), its row's other columns, and
    the completions to score (None: generate them)."""

    label: str
    messages: list[dict[str, str]]
    columns: dict[str, Any] = field(default_factory=dict)
    completions: list[GivenCompletion] | None = None


def read_items(
    target: ValueTarget,
    *,
    prompts: Sequence[str] = (),
    data: Path | None = None,
    eval_dir: Path | None = None,
    logged: bool = False,
    step: int | None = None,
    prompt_column: str | None = None,
    columns: dict[str, Any] | None = None,
    limit: int | None = None,
) -> tuple[list[PromptItem], list[str]]:
    """The prompts of exactly one source, and notes on what was chosen: `prompts` (all of them), or the first
    `limit` (default `DEFAULT_LIMIT`) of a data file, an eval folder, or the target run's completions.jsonl."""
    if sum([bool(prompts), data is not None, eval_dir is not None, logged]) != 1:
        raise GnivoError("give one source of prompts: --prompt TEXT (repeatable), --data FILE, --eval DIR or --logged")
    if limit is not None and limit < 1:
        raise GnivoError(f"--limit must be at least 1, got {limit}")
    run_data = target.data if target.run_dir is not None else None
    if prompts:
        return prompt_items(prompts, run_data, columns or {}), []
    if eval_dir is not None:
        items, notes = eval_items(eval_dir)
    else:
        if logged:
            if target.run_dir is None:
                raise GnivoError(f"--logged reads a run's completions.jsonl, and {target.label} is not a gnivo run")
            data = target.run_dir / COMPLETIONS_FILE
            if not data.is_file():
                raise GnivoError(
                    f"{target.run_dir}: logged no completions ({data.name}); train with training.log_completions: true"
                )
        items, notes = data_items(data, run_data, prompt_column=prompt_column, step=step)
    keep = limit or DEFAULT_LIMIT
    if len(items) > keep:
        notes.append(f"the first {keep} of {len(items)} prompts (--limit)")
    return items[:keep], notes


def prompt_items(texts: Sequence[str], data: DataSection | None, columns: dict[str, Any]) -> list[PromptItem]:
    """`--prompt` texts (with `--column` values), built as training builds a prompt where a run's data
    section is given."""
    rows = [{(data.prompt_column if data else "prompt"): text, **columns} for text in texts]
    return [
        PromptItem(f"prompt {number}", messages, {k: v for k, v in row.items() if k != "prompt"})
        for number, (messages, row) in enumerate(zip(_build(rows, data, "--prompt"), rows, strict=True), start=1)
    ]


def data_items(
    path: Path, data: DataSection | None, *, prompt_column: str | None = None, step: int | None = None
) -> tuple[list[PromptItem], list[str]]:
    """The prompts of a JSONL file, and notes on what was chosen from it (a step, a skipped torn line)."""
    if not path.is_file():
        raise GnivoError(f"{path}: no such file")
    numbered = list(iter_jsonl(path, torn_tail_ok=True))
    if not numbered:
        raise GnivoError(f"{path}: no rows")
    notes = []
    if _has_torn_tail(path):
        notes.append(f"{path}: the last line is incomplete (still being written?) and was skipped")
    given = [(n, row) for n, row in numbered if "completion" in row]
    if given and len(given) != len(numbered):
        line = next(n for n, row in numbered if "completion" not in row)
        raise GnivoError(f"{path}:{line}: no 'completion' field, where other rows have one; give one kind of row")
    if given:
        items, note = _given_items(path, given, step)
        return items, [*notes, note]
    column = prompt_column or (data.prompt_column if data else "prompt")
    missing = next((n for n, row in numbered if column not in row), None)
    if missing is not None:
        fields = ", ".join(sorted(dict(numbered)[missing]))
        raise GnivoError(f"{path}:{missing}: no prompt column {column!r} (--prompt-column; fields: {fields})")
    section = dataclasses.replace(data or DataSection(), prompt_column=column)
    rows = [row for _, row in numbered]
    built = _build(rows, section if data else None, str(path), column=column)
    items = [
        PromptItem(f"{path.name}:{n}", messages, {k: v for k, v in row.items() if k != "prompt"})
        for (n, row), messages in zip(numbered, built, strict=True)
    ]
    return items, notes


def _given_items(path: Path, rows: list[tuple[int, dict[str, Any]]], step: int | None) -> tuple[list[PromptItem], str]:
    for number, row in rows:
        for name in ("prompt", "completion"):
            if name not in row:
                raise GnivoError(f"{path}:{number}: no {name!r} field")
            if not isinstance(row[name], str | list):
                raise GnivoError(f"{path}:{number}: {name!r} must be text or chat messages, got {row[name]!r:.60}")
    steps = sorted({row["step"] for _, row in rows if isinstance(row.get("step"), int)})
    note = f"{path}: {len(rows)} completions"
    if steps:
        chosen = steps[-1] if step is None else step
        if chosen not in steps:
            raise GnivoError(f"{path}: no completions of step {step} (steps {steps[0]} to {steps[-1]} are there)")
        rows = [(n, row) for n, row in rows if row.get("step") == chosen]
        note = f"{path}: step {chosen} of {steps[-1]}, {len(rows)} completions (--step chooses another)"
    elif step is not None:
        raise GnivoError(f"{path}: --step {step}, but its rows have no 'step' field")
    groups: dict[str, PromptItem] = {}
    for number, row in rows:
        key = json.dumps(row["prompt"], sort_keys=True)
        if key not in groups:
            columns = {k: v for k, v in row.items() if k not in _LOG_FIELDS}
            label = f"step {row['step']}" if "step" in row else f"{path.name}:{number}"
            groups[key] = PromptItem(label, _as_messages(row["prompt"]), columns, [])
        groups[key].completions.append(_given(row, number))  # type: ignore[union-attr]
    return list(groups.values()), note


def _given(row: dict[str, Any], number: int) -> GivenCompletion:
    from rewards.base import as_text

    reward = row.get("reward")
    recorded = isinstance(reward, int | float) and not isinstance(reward, bool)
    finish = row.get("finish_reason")
    return GivenCompletion(
        text=as_text(row["completion"]),
        reward=float(reward) if recorded else None,
        has_reward="reward" in row,
        rewards=row.get("rewards") if isinstance(row.get("rewards"), dict) else {},
        finished=None if finish is None else finish == "stop",
        origin={"line": number, **{k: row[k] for k in ("step", "group") if k in row}},
    )


def eval_items(folder: Path) -> tuple[list[PromptItem], list[str]]:
    """A `gnivo eval` folder's samples, each prompt rebuilt from the evaluation's settings."""
    from gnivo_cli.evaluation.benchmarks import get_benchmark, load_problems
    from gnivo_cli.evaluation.prompts import PromptTemplate
    from gnivo_cli.evaluation.store import RESULTS_FILE, SAMPLES_FILE

    samples, results = folder / SAMPLES_FILE, folder / RESULTS_FILE
    if not samples.is_file():
        raise GnivoError(f"{folder}: no {SAMPLES_FILE}; --eval takes the output folder of `gnivo eval`")
    if not results.is_file():
        raise GnivoError(f"{folder}: no {RESULTS_FILE} (the evaluation has not finished); rerun it to finish first")
    try:
        settings = json.loads(results.read_text(encoding="utf-8"))["settings"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise GnivoError(f"{results}: not the results of `gnivo eval` (no settings in it)") from None
    try:
        loaded = load_problems(get_benchmark(settings["bench"]), settings.get("data"), limit=settings.get("limit"))
    except GnivoError as error:
        raise GnivoError(f"{folder}: cannot rebuild the evaluation's prompts: {error}") from None
    problems = {p.id: p for p in loaded}
    template = PromptTemplate(settings["prompt_template"], settings.get("system_prompt"))
    items: dict[str, PromptItem] = {}
    for number, row in iter_jsonl(samples, torn_tail_ok=True):
        problem = problems.get(str(row.get("problem_id")))
        if problem is None or "completion" not in row:
            raise GnivoError(f"{samples}:{number}: not a sample of this evaluation's problems")
        if problem.id not in items:
            items[problem.id] = PromptItem(
                f"problem {problem.id}", template.messages(problem.problem), dict(problem.fields), []
            )
        verdict = row.get("reward") if "reward" in row else (1.0 if row.get("correct") else 0.0)
        items[problem.id].completions.append(  # type: ignore[union-attr]
            GivenCompletion(
                text=row["completion"],
                reward=verdict,
                has_reward=True,
                finished=row.get("finish_reason") == "stop" if "finish_reason" in row else None,
                origin={"line": number, "sample_index": row.get("sample_index")},
            )
        )
    if not items:
        raise GnivoError(f"{samples}: no samples")
    return list(items.values()), [f"{folder}: {settings['bench']}, {len(items)} problems"]


def _build(
    rows: list[dict[str, Any]], data: DataSection | None, where: str, *, column: str = "prompt"
) -> list[list[dict[str, str]]]:
    """Chat messages for each row: as training builds them from the data section, or the column as it is."""
    if data is not None:
        from gnivo_cli.data.loading import build_prompts

        return [row["prompt"] for row in build_prompts(rows, data, where)]
    return [_as_messages(row[column]) for row in rows]


def _as_messages(prompt: Any) -> list[dict[str, str]]:
    from rewards.base import as_messages

    return as_messages(prompt, role="user")


def _has_torn_tail(path: Path) -> bool:
    """The last line has no newline and does not parse: what `iter_jsonl(torn_tail_ok=True)` skips."""
    raw = path.read_bytes()
    tail = raw[raw.rfind(b"\n") + 1 :]
    if not tail.strip():
        return False
    try:
        json.loads(tail.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return True
    return False
