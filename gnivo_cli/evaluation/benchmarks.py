"""The benchmark registry: where each benchmark lives, how to read a problem and its gold answer, and
which reward and prompt template judge it.

Entries are plain data (no dataset is touched until `load_problems`). A benchmark loads from the Hugging
Face hub by its dataset id, from rows it carries itself, or from a local JSONL file with the same fields
(`data=`), which is what offline machines and the tests use. Built-in benchmarks are listed here;
other packages add theirs through the entry-point group `gnivo.benchmarks` (see
`gnivo_cli.evaluation.registry`).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.prompts import DEFAULT_TEMPLATE
from gnivo_cli.jsonl import iter_jsonl

# One extractor for training and evaluation: the `math` reward's (pure string work, no sympy).
from rewards._math_extract import last_boxed as last_boxed  # re-exported: one extractor
from rewards._math_extract import solution_answer

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
    if isinstance(value, str) and ("\n" in value.strip() or "####" in value):
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
    text = str(value)
    if "####" not in text:
        raise ValueError("no '#### ' line in it")
    # GSM8K writes thousands with commas ("1,000"); the number is what counts.
    return text.rsplit("####", 1)[1].strip().replace(",", "")


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

    A sample is judged by the reward named `reward` (built with `reward_params`): a reward with a
    `judge(completions, golds)` method (like `math`) gives verdicts; any other reward is called as in
    training, with the row's fields as columns, and a sample is correct when its score is at least
    `pass_score`.
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


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        Benchmark(
            name="aime24",
            title="AIME 2024 (I and II)",
            hf_id="HuggingFaceH4/aime_2024",
            split="train",
            problem_fields=("problem", "question"),
            answer_field="answer",
            answer_rule=AS_IS,
            id_field="id",
            data_file="aime24.jsonl",
            size=30,
        ),
        Benchmark(
            name="aime25",
            title="AIME 2025 (I and II)",
            hf_id="yentinglin/aime_2025",
            split="train",
            problem_fields=("problem", "question"),
            answer_field="answer",
            answer_rule=AS_IS,
            id_field="id",
            data_file="aime25.jsonl",
            size=30,
            # Three problems of the common copy hold "\f"/"\t" decoded as form feed / TAB.
            repair=True,
        ),
        Benchmark(
            name="amc23",
            title="AMC 12 2023 (A and B)",
            hf_id="math-ai/amc23",
            split="test",
            problem_fields=("problem", "question"),
            answer_field="answer",
            answer_rule=AS_IS,
            id_field="id",
            data_file="amc23.jsonl",
            size=40,
        ),
        Benchmark(
            name="math500",
            title="MATH-500 (the PRM800K test subset of MATH)",
            hf_id="HuggingFaceH4/MATH-500",
            split="test",
            problem_fields=("problem",),
            answer_field="answer",
            answer_rule=AS_IS,
            id_field="unique_id",
            data_file="math500.jsonl",
            size=500,
            aliases=("math-500", "math_500"),
        ),
        Benchmark(
            name="minerva",
            title="Minerva Math (OCW courses)",
            hf_id="svc-huggingface/minerva-math",
            split="test",
            problem_fields=("problem", "question"),
            answer_field="solution",
            answer_rule=LAST_BOXED,
            id_field="idx",
            data_file="minerva_math.jsonl",
            size=272,
            aliases=("minerva_math", "minerva-math"),
        ),
        Benchmark(
            name="olympiadbench",
            title="OlympiadBench (English, open-ended maths)",
            hf_id="Hothan/OlympiadBench",
            hf_config="OE_TO_maths_en_COMP",
            split="train",
            problem_fields=("question", "problem"),
            answer_field="final_answer",
            answer_rule=FIRST_WITHOUT_DOLLARS,
            id_field="id",
            data_file="olympiadbench.jsonl",
            size=675,
            aliases=("olympiad", "olympiad_bench"),
        ),
        Benchmark(
            name="gsm8k",
            title="GSM8K (grade-school word problems)",
            hf_id="openai/gsm8k",
            hf_config="main",
            split="test",
            problem_fields=("question", "problem"),
            answer_field="answer",
            answer_rule=AFTER_HASHES,
            data_file="gsm8k_test.jsonl",
            size=1319,
        ),
    ]
}


def get_benchmark(name: str) -> Benchmark:
    """The built-in entry for `name` (or an alias), or the installed plugin benchmark of that name, else
    an error that suggests the closest name and lists them all."""
    key = name.strip().lower()
    if key in BENCHMARKS:
        return BENCHMARKS[key]
    for bench in BENCHMARKS.values():
        if key in bench.aliases:
            return bench
    from gnivo_cli.evaluation.registry import BENCHMARK_PLUGINS, load_benchmark

    plugins = BENCHMARK_PLUGINS.entry_points()
    if name.strip() in plugins:
        return load_benchmark(name.strip())
    candidates = [*BENCHMARKS, *(alias for b in BENCHMARKS.values() for alias in b.aliases), *plugins]
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    hint = ""
    if close:
        suggestion = close[0] if close[0] in plugins else get_benchmark(close[0]).name
        hint = f" Did you mean {suggestion!r}?"
    installed = f"; plugins: {', '.join(plugins)}" if plugins else ""
    raise GnivoError(f"unknown benchmark {name!r}.{hint} Known: {', '.join(BENCHMARKS)}{installed}")


def load_problems(bench: str | Benchmark, data: str | Path | None = None, *, limit: int | None = None) -> list[Problem]:
    """The problems of a benchmark, from the hub or from `data` (a JSONL file, or a folder holding
    the benchmark's file), the first `limit` only when given."""
    benchmark = bench if isinstance(bench, Benchmark) else get_benchmark(bench)
    if limit is not None and limit < 1:
        raise GnivoError(f"--limit must be at least 1, got {limit}")
    if data is not None:
        path = local_data_path(benchmark, data)
        rows, where = _jsonl_rows(path), str(path)
    elif benchmark.rows is not None:
        rows, where = [(i + 1, dict(row)) for i, row in enumerate(benchmark.rows)], f"benchmark {benchmark.name!r}"
    elif benchmark.hf_id is not None:
        rows, where = _hub_rows(benchmark), benchmark.hf_id
    else:
        raise GnivoError(f"benchmark {benchmark.name!r} has no hub dataset: pass --data with its {benchmark.data_file}")
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise GnivoError(f"{where}: no problems")
    ids = _problem_ids(benchmark, [row for _, row in rows])
    problems = []
    for pid, (line, row) in zip(ids, rows, strict=True):
        try:
            problems.append(Problem(id=pid, problem=benchmark.problem_of(row), gold=benchmark.gold_of(row), fields=row))
        except ValueError as error:
            raise GnivoError(f"{where}:{line}: {error}") from None
    return problems


def local_data_path(benchmark: Benchmark, data: str | Path) -> Path:
    path = Path(data).expanduser()
    if path.is_dir():
        path = path / benchmark.data_file
    if not path.is_file():
        raise GnivoError(f"{path}: no such file (--data takes a JSONL file, or a folder with {benchmark.data_file})")
    owner = next((b for b in BENCHMARKS.values() if b.data_file == path.name and b is not benchmark), None)
    if owner is not None:
        raise GnivoError(
            f"{path} is the {owner.name} benchmark's file, not {benchmark.name} data: use --bench {owner.name}, "
            f"or pass a file with {benchmark.name}'s fields ({' or '.join(benchmark.problem_fields)}, "
            f"{benchmark.answer_field})"
        )
    return path


def problems_digest(problems: Sequence[Problem]) -> str:
    """A short fingerprint of the problems and golds, to notice a changed data source on resume."""
    digest = hashlib.sha256()
    for p in problems:
        digest.update(json.dumps([p.id, p.problem, p.gold], ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def _problem_ids(benchmark: Benchmark, rows: list[dict[str, Any]]) -> list[str]:
    # The dataset's own ids when every row has a distinct one, else the row position.
    field = benchmark.id_field
    if field and all(row.get(field) is not None for row in rows):
        ids = [str(row[field]) for row in rows]
        if len(set(ids)) == len(ids):
            return ids
    return [str(i) for i in range(len(rows))]


def _jsonl_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    return list(iter_jsonl(path))


def _hub_rows(benchmark: Benchmark) -> list[tuple[int, dict[str, Any]]]:
    try:
        import datasets
    except ImportError:  # pragma: no cover - a declared dependency
        raise GnivoError("loading benchmarks from the hub needs the `datasets` package") from None
    from gnivo_cli.hub import from_hub

    dataset = from_hub(
        benchmark.source,
        lambda: datasets.load_dataset(benchmark.hf_id, benchmark.hf_config, split=benchmark.split),
        f"pass --data with a local copy of {benchmark.data_file}",
    )
    # Row numbers are 1-based, like file lines, so error messages read the same.
    return [(i + 1, dict(row)) for i, row in enumerate(dataset)]
