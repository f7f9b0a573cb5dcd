"""Judging evaluation samples with the benchmark's reward, through the same contract as training.

The reward receives each prompt as chat messages (the template's system and user messages), each
completion as one assistant message, and the problem's row fields as columns: what `gnivo train`
passes for the same row, and what `gnivo score` passes for a file of such rows. It is asked through
`Reward.assess`: the score it gives in training (its params apply: a `math` reward with
`fallback_correct: 0` gives an unboxed right answer 0 here too), with the answer it found where it reads
one, which each sample keeps. A sample is correct when its score is at least the benchmark's `pass_score`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.benchmark_spec import Benchmark, Problem
from gnivo_cli.evaluation.generation import Completion
from gnivo_cli.evaluation.prompts import PromptTemplate

#: A reward parameter naming the column with the gold answer: unless set, eval points it at the
#: benchmark's answer field (the `math` reward's `answer_column` reads MATH's `answer`, Minerva's `solution`).
ANSWER_COLUMN_PARAM = "answer_column"


def load_judge_reward(benchmark: Benchmark, params: dict[str, Any] | None = None) -> Any:
    """The benchmark's reward, with its params and the caller's on top."""
    from rewards.registry import load_reward_class

    cls = load_reward_class(benchmark.reward)
    values = {**benchmark.reward_params, **(params or {})}
    if ANSWER_COLUMN_PARAM in {field.name for field in dataclasses.fields(cls.Params)}:
        values.setdefault(ANSWER_COLUMN_PARAM, benchmark.answer_field)
    return cls.from_config(values, name=benchmark.reward)


def check_columns(reward: Any, benchmark: Benchmark, problems: Sequence[Problem]) -> None:
    """The reward's required columns must be fields of every problem: checked before the model loads."""
    from rewards.calling import missing_columns

    for problem in problems:
        missing = missing_columns(reward, problem.fields)
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
    from rewards.calling import RewardCallError, call_reward

    owners = [problems[c.request.problem_id] for c in batch]
    prompts = [template.messages(p.problem, p.fields) for p in owners]
    completions = [[{"role": "assistant", "content": c.text}] for c in batch]
    names = dict.fromkeys(key for p in owners for key in p.fields if key != "prompt")
    columns = {name: [p.fields.get(name) for p in owners] for name in names}

    def where(index: int) -> str:
        return f"problem {batch[index].request.problem_id} sample {batch[index].request.sample_index}"

    try:
        assessed, _ = call_reward(reward, prompts, completions, columns, where=where, assess=True)
    except RewardCallError as error:
        at = f" ({where(error.index)})" if error.index is not None else ""
        raise GnivoError(f"{error}{at}") from error
    return [
        {
            "problem_id": c.request.problem_id,
            "sample_index": c.request.sample_index,
            "completion": c.text,
            "reward": assessment.score,
            "extracted_answer": assessment.answer,
            "answer_source": assessment.details.get("answer_source"),
            "correct": assessment.score is not None and assessment.score >= benchmark.pass_score,
            "timed_out": bool(assessment.details.get("timed_out", False)),
            "gold": problem.gold,
            "num_tokens": c.num_tokens,
            "finish_reason": c.finish_reason,
        }
        for c, problem, assessment in zip(batch, owners, assessed, strict=True)
    ]
