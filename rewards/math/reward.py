"""The `math` reward: is the final answer of a completion equivalent to the gold answer?

Extraction (`rewards.math.extract`; a gold solution's answer: `rewards.math.gold`) and the cheap
comparisons (`rewards.math.quick`: normalization, equal strings, integers) are plain string work in the
calling process. The symbolic check
(`rewards.math.equivalence`: Math-Verify/sympy) runs under a hard time limit per check (`rewards.math.pool`),
in process or in worker processes. `judge` gives the verdicts against gold answers; the reward (and its
`assess`, which `gnivo eval` asks, through the same contract as training) turns them into scores with the
reward's params: one checker and one scoring for training and evaluation.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
import time
from collections.abc import Sequence
from typing import Any, Literal

from rewards.base import Assessment, Reward, RewardConfigError, RewardParams, as_text
from rewards.math.extract import (
    BOXED,
    FALLBACKS,
    NO_ANSWER,
    extract_answer,
    split_answer,
    top_level_parts,
)
from rewards.math.gold import after_hashes, solution_answer
from rewards.math.quick import decide

_CHECKER = "rewards.math.equivalence:equivalent"
_CACHE_SIZE = 65536  # symbolic verdicts kept; their answers are at most MAX_SYMBOLIC_CHARS long

Fallback = Literal["answer_is", "last_number"]


#: Counters `metrics()` reports (since its last call). How answers were judged, among rows with a gold
#: answer: boxed_correct, boxed_wrong, fallback_correct, fallback_wrong (found by a fallback); unparsable:
#: no answer found; fallback_answers: fallback_correct + fallback_wrong, also counting rows without a gold;
#: timeouts and errors: checks that hit the time limit or raised (both count as not equal).
METRICS = (
    "timeouts",
    "unparsable",
    "fallback_answers",
    "errors",
    "boxed_correct",
    "boxed_wrong",
    "fallback_correct",
    "fallback_wrong",
)


def _same_length(split: str, gold: str) -> bool:
    """A split answer counts only against a gold answer listing exactly as many (>= 2) elements."""
    parts = len(top_level_parts(gold))
    return parts >= 2 and parts == len(top_level_parts(split))


@dataclasses.dataclass(frozen=True)
class Verdict:
    """How one completion was judged."""

    extracted: str | None  #: the answer found (the boxes joined, when an answer split over boxes matched), or None
    correct: bool  #: equivalent to (one of) the gold answer(s)
    timed_out: bool  #: the check hit its time limit (and counts as not equal)
    source: str  #: "boxed", the fallback that found the answer ("answer_is", "last_number"), or "none"
    seconds: float = 0.0  #: time spent checking (0 when cached or decided without a check)


def gold_answers(value: Any) -> list[str]:
    """A dataset's gold value as answer strings: ``"025"``, ``70`` (int), ``27.0`` (float) -> ``"27"``.

    A full solution counts by what it boxes (MATH, Minerva; see `solution_answer`: the last box, or a
    list when its sentence boxes several values); a GSM8K answer by what follows ``####``. A list means "any of
    these". None, NaN and empty strings mean there is no gold answer.
    """
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, list | tuple):
        return [answer for item in value for answer in gold_answers(item)]
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return []
        return [str(int(value))] if value.is_integer() else [repr(value)]
    text = as_text(value).strip()
    if (final := after_hashes(text)) is not None:  # GSM8K: a worked solution, then "#### 42"
        text = final
    elif "\\boxed" in text or "\\fbox" in text:  # a full solution (MATH, Minerva): what it boxes
        text = solution_answer(text) or ""
    if len(text) >= 2 and text.startswith("$") and text.endswith("$"):
        text = text.strip("$").strip()
    return [text] if text else []


class MathReward(Reward):
    """Rewards a completion whose final answer (the last \\boxed{}) is equivalent to the gold answer.

    Several boxes: the last one is the answer (a model may correct itself). Only when it is wrong and the
    gold answer lists k >= 2 elements do k boxes of one element each count together, as one list: an
    answer split over boxes. A single gold answer is only ever compared with the last box.

    Equivalence covers number formatting, fractions, roots, decimals, percent, units, equations,
    intervals, sets and tuples, ± answers, matrices and symbolic identities. Each check has a hard time
    limit; a timeout counts as not equal.
    """

    description = "Final answer (last \\boxed{}) checked against the gold answer: numbers, LaTeX, sets, symbolic."

    @dataclasses.dataclass(frozen=True)
    class Params(RewardParams):
        #: Dataset column holding the gold answer.
        answer_column: str = "answer"
        #: Reward for a boxed answer equivalent to the gold one.
        correct: float = 1.0
        #: Reward for an answer that was found but is not equivalent (or whose check timed out).
        wrong: float = 0.0
        #: Reward when no answer can be found at all.
        unparsable: float = 0.0
        #: Where to look when there is no \boxed{}: "answer_is" ("the answer is X"), "last_number".
        fallbacks: list[Fallback] = dataclasses.field(default_factory=lambda: ["answer_is", "last_number"])
        #: Reward for a correct answer found by a fallback (lower it to reward the \boxed{} format).
        fallback_correct: float = 1.0
        #: Reward for a wrong answer found by a fallback; unset: `wrong`.
        fallback_wrong: float | None = None
        #: Check what the plain rules cannot decide (expressions, equations, sets) symbolically. false: such an
        #: answer is wrong, so only an answer written as a number (9, 9.0, a fraction) matches: for tasks whose
        #: problem is itself the expression, where boxing the unevaluated "7 + 2" would count as answering 9.
        symbolic: bool = True
        #: Seconds allowed per check.
        timeout: float = 2.0
        #: Checking processes: 0 or 1 check in this process, N > 1 use N processes, -1 one per core.
        workers: int = 0

        def problems(self) -> list[str]:
            problems = []
            if not self.answer_column:
                problems.append("parameter 'answer_column' must not be empty")
            if not self.timeout > 0:
                problems.append(f"parameter 'timeout' must be > 0, got {self.timeout}")
            if self.workers < -1:
                problems.append(f"parameter 'workers' must be -1 (one per core), 0, 1 or more, got {self.workers}")
            if len(set(self.fallbacks)) != len(self.fallbacks):
                problems.append(f"parameter 'fallbacks' lists a fallback twice: {list(self.fallbacks)}")
            unknown = [name for name in self.fallbacks if name not in FALLBACKS]
            if unknown:
                problems.append(f"parameter 'fallbacks': unknown {unknown} (known: {', '.join(FALLBACKS)})")
            return problems

    params: Params

    def __init__(self, params: Params | None = None, *, name: str | None = None):
        super().__init__(params, name=name or "math")
        self._runner: Any = None
        self._cache: collections.OrderedDict[tuple[str, str], tuple[bool, bool]] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._counts = collections.Counter()

    @property
    def required_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.params.answer_column,)

    @property
    def graded_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.params.answer_column,)

    # -- judging -------------------------------------------------------------------------------------

    def judge(self, completions: Sequence[Any], golds: Sequence[Any]) -> list[Verdict]:
        """One verdict per completion against its gold answer (str, int, float, or a list of any of them)."""
        if len(completions) != len(golds):
            raise ValueError(f"{len(completions)} completions but {len(golds)} gold answers")
        texts = [as_text(completion) for completion in completions]
        found = [extract_answer(text, self.params.fallbacks) for text in texts]
        gold_lists = [gold_answers(gold) for gold in golds]
        splits = [
            split_answer(text) if source == BOXED else None for text, (_, source) in zip(texts, found, strict=True)
        ]
        # The pairs to check: (answer, gold) for each gold, plus (split answer, gold) for a gold listing
        # exactly as many elements as there are boxes.
        pairs = [
            [(answer, gold) for gold in alternatives]
            + [(split, gold) for gold in alternatives if split is not None and _same_length(split, gold)]
            if answer is not None
            else []
            for (answer, _), split, alternatives in zip(found, splits, gold_lists, strict=True)
        ]

        # Each distinct (answer, gold) pair is checked once: groups of samples often agree. Plain-Python
        # rules settle most pairs here (equal strings, integers); only the rest costs a symbolic check.
        known: dict[tuple[str, str], tuple[bool, bool, float]] = {}
        symbolic: list[tuple[str, str]] = []
        with self._lock:
            for key in (key for completion_pairs in pairs for key in completion_pairs):
                if key in known:
                    continue
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
                    known[key] = (*cached, 0.0)
                    continue
                started = time.perf_counter()
                try:
                    decided = decide(*key)
                except Exception:  # a bug in a cheap rule must not stop training: the checker decides
                    decided = None
                if decided is None:
                    known[key] = (False, False, 0.0)  # placeholder until checked (or wrong, without symbolic)
                    if self.params.symbolic:
                        symbolic.append(key)
                else:
                    known[key] = (decided, False, time.perf_counter() - started)
        if symbolic:
            outcomes = self._checker().run(symbolic)
            with self._lock:
                for key, outcome in zip(symbolic, outcomes, strict=True):
                    verdict = (outcome.value is True, outcome.timed_out)
                    known[key] = (*verdict, outcome.seconds)
                    if outcome.error is not None:
                        self._counts["errors"] += 1
                    elif not outcome.timed_out:  # a timeout may not recur on a less busy machine
                        self._cache[key] = verdict
                        if len(self._cache) > _CACHE_SIZE:
                            self._cache.popitem(last=False)

        verdicts = []
        for (answer, source), completion_pairs in zip(found, pairs, strict=True):
            checks = [known[key] for key in completion_pairs]
            correct = any(check[0] for check in checks)
            matched = next((key[0] for key, check in zip(completion_pairs, checks, strict=True) if check[0]), answer)
            verdicts.append(
                Verdict(
                    extracted=matched,
                    correct=correct,
                    timed_out=not correct and any(check[1] for check in checks),
                    source=source,
                    seconds=sum(check[2] for check in checks),
                )
            )
        with self._lock:
            for verdict, alternatives in zip(verdicts, gold_lists, strict=True):
                self._counts["timeouts"] += verdict.timed_out
                self._counts["unparsable"] += verdict.source == NO_ANSWER
                self._counts["fallback_answers"] += verdict.source not in (BOXED, NO_ANSWER)
                if alternatives and verdict.source != NO_ANSWER:
                    how = "boxed" if verdict.source == BOXED else "fallback"
                    self._counts[f"{how}_{'correct' if verdict.correct else 'wrong'}"] += 1
        return verdicts

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: list[Any]) -> list[float | None]:
        return [assessment.score for assessment in self.assess(prompts, completions, **columns)]

    def assess(self, prompts: list[Any], completions: list[Any], **columns: list[Any]) -> list[Assessment]:
        """Scores (None where a row has no gold answer), each with the answer found and how."""
        column = self.params.answer_column
        if column not in columns:
            present = ", ".join(sorted(columns)) or "none"
            raise RewardConfigError(
                f"reward {self.name!r} needs the dataset column {column!r} with the gold answers "
                f"(set params.answer_column to use another); columns present: {present}"
            )
        golds = columns[column]
        verdicts = self.judge(completions, golds)
        return [
            Assessment(
                self._value(verdict) if gold_answers(gold) else None,
                answer=verdict.extracted,
                details={"answer_source": verdict.source, "timed_out": verdict.timed_out},
            )
            for verdict, gold in zip(verdicts, golds, strict=True)
        ]

    def _value(self, verdict: Verdict) -> float:
        params = self.params
        if verdict.source == NO_ANSWER:
            return params.unparsable
        if verdict.correct:
            return params.correct if verdict.source == BOXED else params.fallback_correct
        if verdict.source != BOXED and params.fallback_wrong is not None:
            return params.fallback_wrong
        return params.wrong

    def _checker(self) -> Any:
        with self._lock:
            if self._runner is None:
                from rewards.math.pool import make_runner

                self._runner = make_runner(_CHECKER, self.params.workers, self.params.timeout)
            return self._runner

    def warm_up(self) -> None:
        """Start the checker now (worker processes, sympy import) rather than on the first call."""
        self._checker().start()

    def metrics(self) -> dict[str, float]:
        with self._lock:
            counts = {key: float(self._counts[key]) for key in METRICS}
            self._counts.clear()
        return counts

    def close(self) -> None:
        with self._lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.close()
