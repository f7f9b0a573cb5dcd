"""Score a JSONL file of completions with any reward plugin (the library behind `gnivo score`).

Each input row holds `prompt` and `completion` plus any extra columns the reward reads (such as
`answer`); each output row is the input row plus `reward` (a number, or null where the reward does not
apply). The reward receives prompts and completions as the rows hold them (text or chat messages), and
its outputs are checked as in training (`rewards.base`). The whole input is validated before anything
is scored, so a bad line 90,000 fails in seconds; output goes to ``OUT.partial`` batch by batch and
replaces OUT only when every row is scored, so an existing output is never destroyed, and a rerun of an
interrupted or killed run scores only the rows that are left (see `gnivo_cli.scoring.output`).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError, Interrupted
from gnivo_cli.files.jsonl import iter_jsonl

REQUIRED_FIELDS = ("prompt", "completion")
#: At most this many distinct reward values are listed one by one in the summary.
MAX_LISTED_VALUES = 8


@dataclass
class ScoreSummary:
    """What `score_file` did, for the summary table."""

    reward: str
    input: Path
    output: Path
    count: int = 0
    nulls: int = 0
    mean: float | None = None
    minimum: float | None = None
    median: float | None = None
    maximum: float | None = None
    #: (value, rows) for each distinct value, most common first; None when there are too many to list.
    values: list[tuple[float, int]] | None = None
    #: The reward's own counters summed over the run (e.g. timeouts, unparsable).
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def timeouts(self) -> int:
        return int(self.metrics.get("timeouts", 0))


def default_output(path: Path) -> Path:
    """``data.jsonl`` -> ``data.scored.jsonl``."""
    stem = path.name.removesuffix(".jsonl")
    return path.with_name(f"{stem}.scored.jsonl")


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``["timeout=5", "fallbacks=[answer_is]"]`` -> ``{"timeout": 5, "fallbacks": ["answer_is"]}``, each value
    read as a recipe's `--set` reads it."""
    from gnivo_cli.recipe.overrides import parse_assignment

    params: dict[str, Any] = {}
    for item in items or []:
        key, value = parse_assignment(item, "--param", "key=value, e.g. --param timeout=5")
        params[key] = value
    return params


def read_rows(path: Path, required: tuple[str, ...] = REQUIRED_FIELDS) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for each non-blank line; a bad line raises a GnivoError naming it."""
    for number, row in iter_jsonl(path):
        where = f"{path}:{number}"
        missing = [name for name in required if name not in row]
        if missing:
            raise GnivoError(
                f"{where}: missing field {missing[0]!r} (each row needs {', '.join(required)})"
                + (f"; fields present: {', '.join(row)}" if row else "")
            )
        for name in REQUIRED_FIELDS:
            if not isinstance(row[name], str | list):
                raise GnivoError(
                    f"{where}: field {name!r} must be text (or a list of chat messages), got {row[name]!r:.60}"
                )
        yield number, row


def score_file(
    path: str | Path,
    reward: str | Any,
    params: dict[str, Any] | None = None,
    *,
    output: str | Path | None = None,
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
) -> ScoreSummary:
    """Score every row of `path` with `reward` (a registered name, or a `Reward` instance).

    `progress(done, total)` is called after each batch. Returns the summary; the scored rows are in
    `summary.output` (default: ``FILE.scored.jsonl``). Rows already scored by an interrupted run of the
    same input, reward and params (in ``OUT.partial``) are kept, not scored again. An existing OUT that
    is not a scored copy of this input is refused unless `force`.
    """
    path = Path(path)
    from gnivo_cli.files.paths import file_problem

    if (problem := file_problem(path)) is not None:
        raise GnivoError(f"{path}: {problem}")
    if batch_size < 1:
        raise GnivoError(f"batch size must be >= 1, got {batch_size}")
    out = Path(output) if output is not None else default_output(path)
    if out.resolve() == path.resolve():
        raise GnivoError(f"{out}: the output would overwrite the input; choose another --output")

    owned = isinstance(reward, str)
    if owned:
        from rewards.registry import load_reward

        reward = load_reward(reward, params)
    try:
        return _score(path, reward, out, batch_size, progress, force)
    finally:
        if owned:
            reward.close()


def _score(
    path: Path,
    reward: Any,
    out: Path,
    batch_size: int,
    progress: Callable[[int, int], None] | None,
    force: bool,
) -> ScoreSummary:
    from gnivo_cli.scoring.output import ScoreOutput

    started = time.perf_counter()
    required = (*REQUIRED_FIELDS, *(c for c in reward.required_columns if c not in REQUIRED_FIELDS))
    total = sum(1 for _ in read_rows(path, required))  # validate everything before scoring anything
    if total == 0:
        raise GnivoError(f"{path}: no rows to score")

    summary = ScoreSummary(reward=reward.name, input=path, output=out, count=total)
    metrics: Counter[str] = Counter()
    reward.metrics()  # start the counters from zero
    target = ScoreOutput(out, path, identity=_identity(reward))
    with target.open(force=force, read_input=lambda: (row for _, row in read_rows(path, required))) as sink:
        scores = [value for value in sink.resumed_scores if value is not None]
        done = sink.resumed
        if progress and done:
            progress(done, total)
        try:
            batch: list[tuple[int, dict[str, Any]]] = []
            for index, item in enumerate(read_rows(path, required)):
                if index < sink.resumed:
                    continue
                batch.append(item)
                if len(batch) == batch_size:
                    done += _score_batch(reward, batch, sink, scores, metrics, path)
                    batch = []
                    if progress:
                        progress(done, total)
            if batch:
                done += _score_batch(reward, batch, sink, scores, metrics, path)
                if progress:
                    progress(done, total)
        except Interrupted as error:  # Ctrl-C, also inside the reward (which it names)
            raise Interrupted(f"{error}{sink.kept(done, 'the interrupt')}") from None
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted{sink.kept(done, 'the interrupt')}") from None
        except GnivoError as error:
            raise GnivoError(f"{error}{sink.kept(done)}") from error
        except Exception as error:
            failure = f"reward {reward.name!r} failed: {type(error).__name__}: {error}"
            raise GnivoError(f"{failure}{sink.kept(done)}") from error
        sink.finish()

    summary.nulls = total - len(scores)
    if scores:
        summary.mean = statistics.fmean(scores)
        summary.minimum, summary.median, summary.maximum = min(scores), statistics.median(scores), max(scores)
        distinct = Counter(scores)
        if len(distinct) <= MAX_LISTED_VALUES:
            summary.values = distinct.most_common()
    summary.metrics = dict(metrics)
    summary.seconds = time.perf_counter() - started
    return summary


def _identity(reward: Any) -> dict[str, Any]:
    """What decides the scores, recorded next to a partial output so only the same scoring resumes it."""
    params = reward.params
    values = dataclasses.asdict(params) if dataclasses.is_dataclass(params) else repr(params)
    return json.loads(json.dumps({"reward": reward.name, "params": values}, default=repr))


def _score_batch(
    reward: Any,
    batch: list[tuple[int, dict[str, Any]]],
    sink: Any,
    scores: list[float],
    metrics: Counter[str],
    path: Path,
) -> int:
    from rewards.base import RewardOutputError
    from rewards.calling import RewardCallError, call_reward

    rows = [row for _, row in batch]
    names = dict.fromkeys(key for row in rows for key in row if key not in REQUIRED_FIELDS)
    columns = {name: [row.get(name) for row in rows] for name in names}
    try:
        assessed, _ = call_reward(
            reward,
            [row["prompt"] for row in rows],
            [row["completion"] for row in rows],
            columns,
            where=lambda index: f"line {batch[index][0]}",
        )
    except RewardCallError as error:
        where = f"{path}:{batch[error.index][0]}: " if error.index is not None else ""
        cause = error.cause
        raise GnivoError(f"{where}reward {reward.name!r} failed: {type(cause).__name__}: {cause}") from error
    except RewardOutputError as error:
        raise GnivoError(f"{path}: {error}") from error
    values = [assessment.score for assessment in assessed]
    for (_, row), value in zip(batch, values, strict=True):
        if value is not None:
            scores.append(value)
        sink.write(_dumps({**row, "reward": value}) + "\n")
    sink.flush()
    for key, count in reward.metrics().items():
        metrics[key] += count
    return len(rows)


def _dumps(row: dict[str, Any]) -> str:
    text = json.dumps(row, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from \ud800-style escapes: keep them escaped
        text = json.dumps(row)
    return text
