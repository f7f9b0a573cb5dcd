"""Judging evaluation samples with the benchmark's reward, through the same contract as training.

The reward receives each prompt as chat messages (the template's system and user messages), each
completion as one assistant message, and the problem's row fields as columns: what `gnivo train`
passes for the same row. A reward with a `judge(completions, golds)` method (the `math` reward) gives
verdicts with the answer it found; any other reward gives scores, and a sample is correct when its
score is at least the benchmark's `pass_score`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.benchmark_spec import Benchmark, Problem
from gnivo_cli.evaluation.generation import Completion
from gnivo_cli.evaluation.prompts import PromptTemplate


def load_judge_reward(benchmark: Benchmark, params: dict[str, Any] | None = None) -> Any:
    """The benchmark's reward, with its params and the caller's on top."""
    from rewards.registry import load_reward

    return load_reward(benchmark.reward, {**benchmark.reward_params, **(params or {})})


def check_columns(reward: Any, benchmark: Benchmark, problems: Sequence[Problem]) -> None:
    """A scoring reward's required columns must be fields of every problem (a judging reward reads the gold)."""
    if hasattr(reward, "judge"):
        return
    for problem in problems:
        missing = [c for c in getattr(reward, "required_columns", ()) if c not in problem.fields]
        if missing:
            fields = ", ".join(problem.fields) or "none"
            raise GnivoError(
                f"benchmark {benchmark.name!r}: reward {reward.name!r} needs field {missing[0]!r}, which problem "
                f"{problem.id} lacks (fields: {fields})"
            )


def judge_batch(
    reward: Any,
    batch: Sequence[Completion],
    problems: dict[str, Problem],
    template: PromptTemplate,
    benchmark: Benchmark,
) -> list[dict[str, Any]]:
    """Sample rows for a finished batch, judged by `reward`."""
    owners = [problems[c.request.problem_id] for c in batch]
    completions = [[{"role": "assistant", "content": c.text}] for c in batch]
    if hasattr(reward, "judge"):
        verdicts = reward.judge(completions, [p.gold for p in owners])
        if len(verdicts) != len(batch):
            raise GnivoError(f"reward {reward.name!r} returned {len(verdicts)} verdicts for {len(batch)} completions")
        judged = [
            {
                "extracted_answer": v.extracted,
                "answer_source": getattr(v, "source", None),
                "correct": bool(v.correct),
                "timed_out": bool(getattr(v, "timed_out", False)),
            }
            for v in verdicts
        ]
    else:
        judged = _scored(reward, batch, owners, completions, template, benchmark.pass_score)
    return [
        {
            "problem_id": c.request.problem_id,
            "sample_index": c.request.sample_index,
            "completion": c.text,
            **verdict,
            "gold": problem.gold,
            "num_tokens": c.num_tokens,
            "finish_reason": c.finish_reason,
        }
        for c, problem, verdict in zip(batch, owners, judged, strict=True)
    ]


def _scored(
    reward: Any,
    batch: Sequence[Completion],
    owners: list[Problem],
    completions: list[list[dict[str, str]]],
    template: PromptTemplate,
    pass_score: float,
) -> list[dict[str, Any]]:
    from rewards.base import RewardCallError, RewardOutputError, call_reward

    prompts = [template.messages(p.problem, p.fields) for p in owners]
    names = dict.fromkeys(key for p in owners for key in p.fields if key != "prompt")
    columns = {name: [p.fields.get(name) for p in owners] for name in names}

    def where(index: int) -> str:
        return f"problem {batch[index].request.problem_id} sample {batch[index].request.sample_index}"

    try:
        scores, _ = call_reward(reward, prompts, completions, columns, where=where)
    except RewardCallError as error:
        at = f" ({where(error.index)})" if error.index is not None else ""
        raise GnivoError(f"{error}{at}") from error
    except RewardOutputError:
        raise
    return [
        {
            "reward": score,
            "extracted_answer": None,
            "answer_source": None,
            "correct": score is not None and score >= pass_score,
            "timed_out": False,
        }
        for score in scores
    ]
