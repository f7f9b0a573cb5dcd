"""What a benchmark is: where its rows live, how a row becomes a problem and a gold answer, and which
reward and prompt template judge it. The built-in entries and the loading are in `benchmarks`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gnivo_cli.evaluation.prompts import DEFAULT_TEMPLATE
from rewards.math.gold import GSM8K_MARK, after_hashes, solution_answer

Gold = str | int | float


@dataclass(frozen=True)
class Problem:
    """One benchmark problem: a stable id, the statement, and the gold answer."""

    id: str
    problem: str
    gold: Gold
    #: The row's fields as the data holds them: what the benchmark's reward receives as columns.
    fields: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)


# --- gold answer rules: each takes the raw field value and returns the gold answer ----------------------


def _as_is(value: Any) -> Gold:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a string or number, got {type(value).__name__}")
    if isinstance(value, str) and ("\n" in value.strip() or GSM8K_MARK in value):
        # A worked solution (GSM8K's "... #### 72") where a final answer belongs: another benchmark's data.
        raise ValueError("holds a worked solution, not a final answer: is this data for another benchmark?")
    return value


def _last_boxed(value: Any) -> Gold:
    boxed = solution_answer(str(value))
    if boxed is None:
        raise ValueError("no \\boxed{...} in it")
    return boxed.strip()


def _first_without_dollars(value: Any) -> Gold:
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError("empty list")
        value = value[0]
    return str(value).strip().strip("$").strip()


def _after_hashes(value: Any) -> Gold:
    final = after_hashes(str(value))
    if final is None:
        raise ValueError(f"no '{GSM8K_MARK} ' line in it")
    # GSM8K writes thousands with commas ("1,000"); the number is what counts.
    return final.replace(",", "")


@dataclass(frozen=True)
class AnswerRule:
    template: str  # how the gold is read, with {field} for the field's name
    extract: Callable[[Any], Gold]


AS_IS = AnswerRule("{field}", _as_is)
LAST_BOXED = AnswerRule("last \\boxed{{}} of {field}", _last_boxed)
FIRST_WITHOUT_DOLLARS = AnswerRule("{field}[0] without $", _first_without_dollars)
AFTER_HASHES = AnswerRule("{field} after ####", _after_hashes)


def repair_escapes(text: str) -> str:
    r"""Undo `\f` and `\t` that were written into JSON unescaped and decoded as form feed and TAB."""
    return text.replace("\x0c", "\\f").replace("\t", "\\t")


@dataclass(frozen=True)
class Benchmark:
    """Where a benchmark lives, how its fields map to problem, gold answer and id, and how it is judged.

    A sample is judged by the reward named `reward` (built with `reward_params`), called as in training
    with the row's fields as columns (`gnivo_cli.evaluation.judging`); it is correct when its score is at
    least `pass_score`. `answer_field` and `answer_rule` give the gold answer each sample records.
    """

    name: str
    title: str
    hf_id: str | None = None  # the Hugging Face dataset; None when the rows come with the benchmark
    split: str = "test"
    problem_fields: tuple[str, ...] = ("problem",)  # the first one present in a row is used
    answer_field: str = "answer"
    answer_rule: AnswerRule = AS_IS
    data_file: str = ""  # its file name in a local benchmark folder (see `--data DIR`); default NAME.jsonl
    size: int | None = None  # problems in the published set, where known
    id_field: str | None = None
    hf_config: str | None = None
    repair: bool = False  # apply `repair_escapes` to the problem text
    aliases: tuple[str, ...] = ()
    reward: str = "math"
    reward_params: dict[str, Any] = dataclasses.field(default_factory=dict)
    prompt_template: str = DEFAULT_TEMPLATE  # the user message, with {problem}
    system_prompt: str | None = None
    pass_score: float = 1.0
    rows: tuple[dict[str, Any], ...] | None = None  # problems carried by the benchmark itself

    def __post_init__(self) -> None:
        if not self.data_file:
            object.__setattr__(self, "data_file", f"{self.name}.jsonl")
        if self.size is None and self.rows is not None:
            object.__setattr__(self, "size", len(self.rows))

    @property
    def gold_rule(self) -> str:
        return self.answer_rule.template.format(field=self.answer_field)

    @property
    def source(self) -> str:
        if self.hf_id is None:
            return "rows shipped with the benchmark" if self.rows is not None else "--data only"
        config = f" ({self.hf_config})" if self.hf_config else ""
        return f"{self.hf_id}{config} [{self.split}]"

    def problem_of(self, row: dict[str, Any]) -> str:
        for field in self.problem_fields:
            if field in row and row[field] is not None:
                text = str(row[field])
                return repair_escapes(text) if self.repair else text
        raise ValueError(f"no field {' or '.join(map(repr, self.problem_fields))} (fields: {', '.join(row)})")

    def gold_of(self, row: dict[str, Any]) -> Gold:
        if row.get(self.answer_field) is None:
            raise ValueError(f"no field {self.answer_field!r} (fields: {', '.join(row)})")
        try:
            return self.answer_rule.extract(row[self.answer_field])
        except ValueError as error:
            raise ValueError(f"field {self.answer_field!r}: {error}") from None
