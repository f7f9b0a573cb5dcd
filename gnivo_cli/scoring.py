"""Score a JSONL file of completions with any reward plugin (the library behind `gnivo score`).

Each input row holds `prompt` and `completion` plus any extra columns the reward reads (such as
`answer`); each output row is the input row plus `reward` (a number, or null where the reward does not
apply). The whole input is validated before anything is scored, so a bad line 90,000 fails in seconds;
output goes to ``OUT.partial`` batch by batch and replaces OUT only when every row is scored, so an
existing output is never destroyed and an interrupted run keeps what it scored.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.jsonl import iter_jsonl

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
    """``["timeout=5", "fallbacks=[answer_is]"]`` -> ``{"timeout": 5, "fallbacks": ["answer_is"]}`` (YAML values)."""
    import yaml

    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise GnivoError(f"--param {item!r}: expected key=value, e.g. --param timeout=5")
        try:
            params[key] = yaml.safe_load(text)
        except yaml.YAMLError:
            params[key] = text  # not YAML: a plain string; the reward's type check follows
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
) -> ScoreSummary:
    """Score every row of `path` with `reward` (a registered name, or a `Reward` instance).

    `progress(done, total)` is called after each batch. Returns the summary; the scored rows are in
    `summary.output` (default: ``FILE.scored.jsonl``).
    """
    path = Path(path)
    if not path.is_file():
        raise GnivoError(f"{path}: no such file")
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
        return _score(path, reward, out, batch_size, progress)
    finally:
        if owned:
            reward.close()


def _score(path: Path, reward: Any, out: Path, batch_size: int, progress: Callable[[int, int], None] | None):
    started = time.perf_counter()
    required = (*REQUIRED_FIELDS, *(c for c in reward.required_columns if c not in REQUIRED_FIELDS))
    total = sum(1 for _ in read_rows(path, required))  # validate everything before scoring anything
    if total == 0:
        raise GnivoError(f"{path}: no rows to score")

    summary = ScoreSummary(reward=reward.name, input=path, output=out, count=total)
    scores: list[float] = []
    metrics: Counter[str] = Counter()
    reward.metrics()  # start the counters from zero
    partial = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    done = 0
    with partial.open("w", encoding="utf-8") as sink:
        try:
            batch: list[tuple[int, dict[str, Any]]] = []
            for item in read_rows(path, required):
                batch.append(item)
                if len(batch) == batch_size:
                    done += _score_batch(reward, batch, sink, scores, metrics)
                    batch = []
                    if progress:
                        progress(done, total)
            if batch:
                done += _score_batch(reward, batch, sink, scores, metrics)
                if progress:
                    progress(done, total)
        except GnivoError as error:
            sink.close()
            raise GnivoError(f"{error}{_kept(partial, done)}") from error
        except Exception as error:
            sink.close()
            raise GnivoError(
                f"reward {reward.name!r} failed: {type(error).__name__}: {error}{_kept(partial, done)}"
            ) from error
    os.replace(partial, out)

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


def _kept(partial: Path, done: int) -> str:
    if done == 0:
        partial.unlink(missing_ok=True)
        return ""
    return f" ({done} rows scored before the error are in {partial})"


def _score_batch(
    reward: Any, batch: list[tuple[int, dict[str, Any]]], sink: Any, scores: list[float], metrics: Counter[str]
) -> int:
    rows = [row for _, row in batch]
    names = dict.fromkeys(key for row in rows for key in row if key not in REQUIRED_FIELDS)
    columns = {name: [row.get(name) for row in rows] for name in names}
    values = reward([row["prompt"] for row in rows], [row["completion"] for row in rows], **columns)
    if len(values) != len(rows):
        raise GnivoError(f"reward {reward.name!r} returned {len(values)} values for {len(rows)} completions")
    for (number, row), value in zip(batch, values, strict=True):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise GnivoError(
                    f"reward {reward.name!r} returned {value!r} for line {number}; expected a finite number or None"
                )
            value = float(value)
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
