"""Training prompts: built-in synthetic tasks, local JSONL/JSON files, or Hugging Face datasets.

Every row becomes a conversational `prompt` (`gnivo_cli.data.prompts`: system + user message, so trl
applies the model's chat template) plus the dataset's other columns, which reach the rewards as keyword
arguments (`answer`).
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gnivo_cli.data import templates
from gnivo_cli.data.prompts import build_prompts
from gnivo_cli.data.synthetic_steps import StepsTask
from gnivo_cli.errors import GnivoError
from gnivo_cli.files.jsonl import read_jsonl
from gnivo_cli.files.paths import file_problem

if TYPE_CHECKING:
    from datasets import Dataset

    from gnivo_cli.recipe.sections import DataSection

SYNTHETIC_PREFIX = "synthetic:"


@dataclass(frozen=True)
class ArithmeticTask:
    """Integer arithmetic with known answers, generated locally: "What is 17 + 25?" -> "42"."""

    count: int = 2000
    low: int = 1
    high: int = 20
    operations: tuple[str, ...] = ("+",)
    terms: int = 2
    seed: int = 1234

    def rows(self) -> list[dict[str, Any]]:
        rng = random.Random(self.seed)
        rows = []
        for index in range(self.count):
            numbers = [rng.randint(self.low, self.high) for _ in range(self.terms)]
            expression = str(numbers[0])
            for number in numbers[1:]:
                expression += f" {rng.choice(self.operations)} {number}"
            answer = eval(expression, {"__builtins__": {}})  # operands are our own integers and + - *
            rows.append({"id": index, "problem": f"What is {expression}?", "answer": str(answer)})
        return rows

    def problems(self) -> list[tuple[str, str]]:
        problems = []
        if self.count < 1 or self.terms < 2 or self.low > self.high:
            problems.append(("data.synthetic", "needs count >= 1, terms >= 2 and low <= high"))
        if self.count > SYNTHETIC_COUNT_LIMIT or self.terms > 100:
            problems.append(("data.synthetic", f"count must be <= {SYNTHETIC_COUNT_LIMIT} and terms <= 100"))
        return problems


SYNTHETIC_TASKS: dict[str, type] = {"arithmetic": ArithmeticTask, "steps": StepsTask}
SYNTHETIC_COUNT_LIMIT = 1_000_000  # generated in memory at every start
_OPERATIONS = {"+", "-", "*"}


def _synthetic_task(section: DataSection) -> Any:
    name = section.source[len(SYNTHETIC_PREFIX) :]
    task_cls = SYNTHETIC_TASKS[name]
    params = dict(section.synthetic)
    if "operations" in params:
        params["operations"] = tuple(params["operations"])
    return task_cls(**params)


def prompts_per_step(recipe: Any) -> int:
    """How many distinct prompts one optimizer step draws: trl drops a last, incomplete batch, so a
    dataset with fewer rows than this trains zero steps."""
    train = recipe.training
    completions = train.per_device_batch_size * train.gradient_accumulation_steps
    return max(1, completions // recipe.algorithm.num_generations)


def size_problem(rows: int, recipe: Any) -> str | None:
    """Why `rows` prompts are too few for one step of `recipe`, or None."""
    needed = prompts_per_step(recipe)
    if rows >= needed:
        return None
    train = recipe.training
    return (
        f"has {rows} prompt{'s' if rows != 1 else ''}, fewer than the {needed} one step needs "
        f"(training.per_device_batch_size {train.per_device_batch_size} x gradient_accumulation_steps "
        f"{train.gradient_accumulation_steps} / algorithm.num_generations {recipe.algorithm.num_generations}); "
        "add rows or lower the batch"
    )


def data_problems(section: DataSection) -> list[tuple[str, str]]:
    """Problems with a data section that can be found without loading anything."""
    problems: list[tuple[str, str]] = []
    if section.source.startswith(SYNTHETIC_PREFIX):
        name = section.source[len(SYNTHETIC_PREFIX) :]
        if name not in SYNTHETIC_TASKS:
            known = ", ".join(SYNTHETIC_PREFIX + n for n in SYNTHETIC_TASKS)
            return [("data.source", f"unknown synthetic task {name!r} (known: {known})")]
        fields = SYNTHETIC_TASKS[name].__dataclass_fields__
        for key, value in section.synthetic.items():
            if key not in fields:
                problems.append((f"data.synthetic.{key}", f"unknown parameter (known: {', '.join(fields)})"))
            elif key == "operations" and not (isinstance(value, list) and value and set(value) <= _OPERATIONS):
                problems.append((f"data.synthetic.{key}", f"must be a non-empty list drawn from {sorted(_OPERATIONS)}"))
            elif key != "operations" and not (isinstance(value, int) and not isinstance(value, bool)):
                problems.append((f"data.synthetic.{key}", f"must be an integer, got {value!r}"))
        if not problems:
            task = _synthetic_task(section)
            problems.extend(task.problems())  # each task checks its own parameters
            if problems:
                return problems  # its rows cannot be built to check the columns
            columns = {"prompt", *dataclasses.replace(task, count=1).rows()[0]}
            if section.prompt_column not in columns:
                problems.append(("data.prompt_column", f"{section.source} has no column {section.prompt_column!r}"))
            missing = [name for name in templates.placeholders(section.prompt_template) if name not in columns]
            if missing:
                problems.append(("data.prompt_template", templates.missing_message(missing, columns)))
    elif section.synthetic:
        problems.append(("data.synthetic", "only applies to a synthetic:NAME source"))
    elif _looks_like_file(section.source):
        path = Path(section.source).expanduser()
        if (problem := file_problem(path)) == "no such file":
            problems.append(("data.source", f"no such file: {section.source}"))
        elif problem is not None:
            problems.append(("data.source", f"{section.source} {problem}"))
        elif path.suffix not in (".jsonl", ".json"):
            problems.append(("data.source", f"{section.source}: only .jsonl and .json files are read"))
    return problems


def known_row_count(section: DataSection) -> int | None:
    """The most rows the data can yield, where that is known without loading it (a synthetic task, a limit)."""
    counts = [section.limit] if section.limit else []
    if section.source.startswith(SYNTHETIC_PREFIX) and not data_problems(section):
        counts.append(_synthetic_task(section).count)
    return min(counts, default=None)


def _looks_like_file(source: str) -> bool:
    """A local path rather than a hub dataset id: a JSON(L) name, an explicit path, or an existing file."""
    return source.endswith((".jsonl", ".json")) or source.startswith((".", "/", "~")) or Path(source).is_file()


def load_rows(section: DataSection) -> list[dict[str, Any]]:
    """The raw rows of the data source, before prompts are built."""
    if section.source.startswith(SYNTHETIC_PREFIX):
        rows = _synthetic_task(section).rows()
    elif _looks_like_file(section.source):
        rows = read_json_rows(Path(section.source).expanduser())
    else:
        rows = _load_hub_rows(section)
    return rows[: section.limit] if section.limit else rows


def read_json_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file (or a JSON array); a bad line is reported with its number."""
    if path.suffix == ".json":
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise GnivoError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from None
        if not isinstance(rows, list):
            raise GnivoError(f"{path}: expected a JSON array of objects")
        return rows
    return read_jsonl(path)


def _load_hub_rows(section: DataSection) -> list[dict[str, Any]]:
    from datasets import load_dataset

    from gnivo_cli.hub import from_hub

    dataset = from_hub(
        f"data.source {section.source!r} (split {section.split!r})",
        lambda: load_dataset(section.source, section.config, split=section.split),
        "point data.source at a local .jsonl file instead",
    )
    return dataset.to_list()


def load_prompt_dataset(section: DataSection, source: str | None = None) -> Dataset:
    from datasets import Dataset

    rows = load_rows(section)
    if not rows:
        raise GnivoError(f"data.source {section.source!r} has no rows")
    return Dataset.from_list(build_prompts(rows, section, source))


def load_training_dataset(recipe: Any) -> Dataset:
    """The recipe's prompts, refused before any model loads when there are too few for one step."""
    dataset = load_prompt_dataset(recipe.data, recipe.source)
    problem = size_problem(len(dataset), recipe)
    if problem:
        where = f"{recipe.source}: " if recipe.source else ""
        raise GnivoError(f"{where}data.source {recipe.data.source!r} {problem}")
    return dataset
