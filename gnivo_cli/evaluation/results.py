"""results.json's scores and counts, from the sample rows: pass@k, avg@N and how the samples ended."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gnivo_cli.evaluation.benchmark_spec import Benchmark, Problem
from gnivo_cli.evaluation.passk import avg_at_n, mean_pass_at_k
from gnivo_cli.evaluation.settings import EvalSettings


def summarize(
    settings: EvalSettings,
    benchmark: Benchmark,
    problems: Sequence[Problem],
    rows: Sequence[dict[str, Any]],
    *,
    model_path: str,
) -> dict[str, Any]:
    """The scores and counts of results.json (everything but timing), from the sample rows."""
    n = settings.samples or 1
    by_problem: dict[str, int] = {p.id: 0 for p in problems}
    for row in rows:
        by_problem[row["problem_id"]] += bool(row["correct"])
    counts = list(by_problem.values())
    total = len(rows)
    results: dict[str, Any] = {
        "benchmark": benchmark.name,
        "data": settings.data or benchmark.source,
        "model": settings.model,
        "model_path": model_path,
        "settings": settings.as_dict(),
        "num_problems": len(problems),
        "samples_per_problem": n,
        "num_samples": total,
    }
    for k in settings.pass_at:
        results[f"pass@{k}"] = mean_pass_at_k(counts, n, k)
    results[f"avg@{n}"] = avg_at_n(counts, n)
    results["num_correct"] = sum(counts)
    results["problems_solved"] = sum(1 for c in counts if c > 0)
    results["reward"] = benchmark.reward
    results["no_answer_rate"] = sum(_no_answer(r) for r in rows) / total
    results["truncated_rate"] = sum(r["finish_reason"] == "length" for r in rows) / total
    results["checker_timeouts"] = sum(bool(r.get("timed_out")) for r in rows)
    results["tokens_generated"] = sum(int(r["num_tokens"]) for r in rows)
    results["mean_tokens_per_sample"] = results["tokens_generated"] / total
    return results


def _no_answer(row: dict[str, Any]) -> bool:
    # Where the reward says how it found the answer (`math`: "none" when it found none), that; else a reward
    # that did not apply (None). Rows of runs that recorded no reward: no extracted answer.
    if row.get("answer_source") is not None:
        return row["answer_source"] == "none"
    return row["reward"] is None if "reward" in row else row.get("extracted_answer") is None
