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
import hashlib
import importlib.metadata
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.benchmark_spec import (
    AFTER_HASHES,
    AS_IS,
    FIRST_WITHOUT_DOLLARS,
    LAST_BOXED,
    Benchmark,
    Problem,
)
from gnivo_cli.files.jsonl import iter_jsonl
from gnivo_cli.plugins import PluginInfo
from gnivo_cli.suggest import did_you_mean

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
    an error that suggests the closest name and lists them all. A plugin registered under a built-in's
    name is refused (`refuse_builtin_names`)."""
    from gnivo_cli.evaluation.registry import BENCHMARK_PLUGINS, load_benchmark

    key = name.strip().lower()
    plugins = BENCHMARK_PLUGINS.entry_points()
    builtin = BENCHMARKS.get(key) or next((b for b in BENCHMARKS.values() if key in b.aliases), None)
    if builtin is not None:
        refuse_builtin_names(builtin, plugins)
        return builtin
    if name.strip() in plugins:
        return load_benchmark(name.strip())
    # An alias suggests the benchmark it stands for.
    candidates = {n: b.name for b in BENCHMARKS.values() for n in (b.name, *b.aliases)} | {n: n for n in plugins}
    installed = f"; plugins: {', '.join(plugins)}" if plugins else ""
    listed = f"known: {', '.join(BENCHMARKS)}{installed}"
    raise GnivoError(f"unknown benchmark {name!r}{did_you_mean(key, candidates, stands_for=candidates)} ({listed})")


TAKES_A_BUILTIN_NAME = "takes a built-in benchmark's name, which a plugin cannot replace: rename its entry point"


def refuse_builtin_names(builtin: Benchmark, plugins: dict[str, importlib.metadata.EntryPoint]) -> None:
    """An error when an installed plugin registers `builtin`'s name or one of its aliases."""
    from gnivo_cli.plugins import dist_label

    names = {builtin.name, *builtin.aliases}
    for name, entry_point in plugins.items():
        if name.strip().lower() in names:
            raise GnivoError(
                f"benchmark {name!r} ({dist_label(entry_point)}, {entry_point.value}) {TAKES_A_BUILTIN_NAME}; "
                f"until then --bench {builtin.name} is refused, since it could mean either"
            )


def plugin_benchmarks(*, check: bool = False) -> list[PluginInfo]:
    """Installed plugin benchmarks (`registry.available_benchmarks`), one that takes a built-in's name or
    alias listed as broken."""
    from gnivo_cli.evaluation.registry import available_benchmarks

    builtin = {name for benchmark in BENCHMARKS.values() for name in (benchmark.name, *benchmark.aliases)}
    return [
        dataclasses.replace(info, status="broken", error=TAKES_A_BUILTIN_NAME)
        if info.name.strip().lower() in builtin
        else info
        for info in available_benchmarks(check=check)
    ]


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
