"""Held-out evaluation during training, the library side: a recipe's `training.eval` checked like every recipe
key, and turned into the `EvalSettings` that `gnivo eval` takes. The trainer callback that runs it on the
current policy is `gnivo_cli.training.held_out`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.benchmark_spec import Benchmark
from gnivo_cli.evaluation.benchmarks import BENCHMARKS, get_benchmark, local_data_path
from gnivo_cli.evaluation.settings import EvalSettings

KEY = "training.eval"


def held_out_benchmark(section: Any) -> Benchmark:
    """The benchmark `training.eval` names, or the one whose file its `data` is."""
    if section.bench is not None:
        return get_benchmark(section.bench)
    if section.data is None:
        raise GnivoError("name a benchmark (bench: gsm8k) or a data file (data: path/to/gsm8k_test.jsonl)")
    name = Path(section.data).name
    owner = next((b for b in BENCHMARKS.values() if b.data_file == name), None)
    if owner is None:
        raise GnivoError(
            f"{section.data} is no built-in benchmark's file ({', '.join(b.data_file for b in BENCHMARKS.values())}); "
            f"name the benchmark whose fields it has with {KEY}.bench (`gnivo eval --list`)"
        )
    return owner


def held_out_problems(section: Any) -> list[tuple[str, str]]:
    """(key path, message) for each problem of a `training.eval` section; nothing is loaded but its data file."""
    problems: list[tuple[str, str]] = []
    try:
        benchmark = held_out_benchmark(section)
    except GnivoError as error:
        return [(f"{KEY}.bench" if section.bench is not None else KEY, str(error))]
    if section.data is not None:
        try:
            local_data_path(benchmark, section.data)
        except GnivoError as error:
            problems.append((f"{KEY}.data", str(error)))
    if not section.pass_at or any(k < 1 for k in section.pass_at):
        problems.append((f"{KEY}.pass_at", f"must be a non-empty list of k >= 1, got {section.pass_at}"))
    elif section.samples is not None and section.samples < max(section.pass_at):
        problems.append(
            (
                f"{KEY}.samples",
                f"must be at least the largest pass_at ({max(section.pass_at)}): pass@k needs k samples per problem, "
                f"got {section.samples}",
            )
        )
    return problems


def held_out_settings(recipe: Any, model: str) -> EvalSettings:
    """The `gnivo eval` settings of the recipe's held-out evaluation; `model` names the weights in its files."""
    section = recipe.training.eval
    benchmark = held_out_benchmark(section)
    return EvalSettings(
        bench=benchmark.name,
        model=model,
        pass_at=tuple(section.pass_at),
        samples=section.samples,
        temperature=section.temperature,
        top_p=section.top_p,
        max_new_tokens=section.max_new_tokens or recipe.generation.max_new_tokens,
        batch_size=section.batch_size,
        data=section.data,
        limit=section.limit,
        seed=recipe.training.seed,
    ).resolved()
