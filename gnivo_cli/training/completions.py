"""completions.jsonl (`training.log_completions`): every generated completion of a run, one row each.

A row, in the order written (one generated batch after another):

    step        the optimizer step that generated it (a batch serves `num_iterations` steps from there)
    prompt      as trl holds it: chat messages (gnivo's data) or text
    completion  as trl holds it: chat messages when the prompt is messages, else text
    reward      the weighted total over the rewards, null where no reward applied
    rewards     {reward name: value or null}
    weight      GN-IVO's target weight w_i of the completion in its group (gnivo algorithms): softmax(R/alpha),
                or exp(R/alpha) with `weights: exp`, before any vLLM sampling correction
    advantage   the baseline's advantage (grpo, rloo, dr-grpo), as trl computed it
    group       the index of the prompt's group of K completions within the batch
    ...         the data row's other columns (such as `answer`); gnivo's names above take precedence

`gnivo score` reads it as it is (prompt + completion, the other columns reach the reward). Under several
processes every process's rows are gathered and the main process alone writes, so there is one file. A row
is written with its newline last: a kill can tear only the last line, which readers drop
(`run_files.read_rows`), and a resume cuts the rows past the checkpoint's step.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

#: The fields gnivo writes; the data's own columns come beside them.
ROW_FIELDS = ("step", "prompt", "completion", "reward", "rewards", "weight", "advantage", "group")


class CompletionLog:
    """A rollout hook (`RolloutAccountingMixin.rollout_hooks`) that appends the batch's completions to `path`.

    A collective: every process calls it after each generated batch (the data columns are gathered).
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def __call__(self, trainer: Any, inputs: list[dict[str, Any]]) -> None:
        from accelerate.utils import gather_object

        columns = gather_object([{k: v for k, v in row.items() if k != "prompt"} for row in inputs])
        if not trainer.accelerator.is_main_process:
            return
        rows = batch_rows(trainer, columns)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows))


def batch_rows(trainer: Any, columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the batch just generated, from what trl logged of it (all processes' rows, in order)."""
    count = len(columns)
    logs = trainer._logs
    prompts = list(logs["prompt"])[-count:]
    completions = list(logs["completion"])[-count:]
    per_reward = {name: _numbers(list(logs["rewards"][name])[-count:]) for name in trainer.reward_func_names}
    weights = trainer.reward_weights.tolist()
    target = getattr(trainer, "target_weights", None)  # GN-IVO's; the baselines' trl advantages otherwise
    advantages = None if target is not None else _numbers(list(logs["advantages"])[-count:])
    extra = {"weight": target()} if target is not None else {"advantage": advantages}
    step = trainer.state.global_step + 1
    group_size = trainer.num_generations
    rows = []
    for index in range(count):
        rewards = {name: values[index] for name, values in per_reward.items()}
        row = dict(columns[index])
        row.update(
            step=step,
            prompt=prompts[index],
            completion=completions[index],
            reward=weighted_total(list(rewards.values()), weights),
            rewards=rewards,
            **{key: values[index] for key, values in extra.items()},
            group=index // group_size,
        )
        rows.append({key: row[key] for key in ROW_FIELDS if key in row} | row)
    return rows


def weighted_total(values: list[float | None], weights: list[float]) -> float | None:
    """The weighted sum of the rewards that applied; None where none did (as trl totals them)."""
    applied = [(v, w) for v, w in zip(values, weights, strict=True) if v is not None]
    return sum(v * w for v, w in applied) if applied else None


def _numbers(values: list[float]) -> list[float | None]:
    return [
        None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value) for value in values
    ]
