"""`synthetic:steps`: a tiny language of reasoning steps whose reward hinges on one early step.

A prompt names a key, one of the step words (`key ab`). A completion is `steps` reasoning steps, each a
two-letter word over `a`/`b`, separated by a blank line (so `unit: step` splits them):

    ab

    ab

    ba

    ab

Its reward (the `steps` reward plugin) is 0 unless the first step equals the key; then it is
(1 + the number of later steps that repeat the first) / steps: 0.25, 0.5, 0.75 or 1 with 4 steps. The
first step decides whether anything counts, the later ones how much: a learner has to find out which
step mattered. Every completion can be listed (4 ** steps of them), so the expected reward of a policy,
and its distance to the KL-regularized optimum, can be computed exactly.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

LETTERS = ("a", "b")
WORDS = tuple("".join(pair) for pair in itertools.product(LETTERS, repeat=2))  # aa, ab, ba, bb
SEPARATOR = "\n\n"
COUNT_LIMIT = 1_000_000  # rows are generated in memory at every start
MAX_STEPS = 8  # 4 ** 8 = 65,536 completions per key: still enumerable


@dataclass(frozen=True)
class StepsTask:
    """Prompts `key W` for the first `keys` step words W, taking turns so each is equally common."""

    count: int = 256
    steps: int = 4
    keys: int = 4  # 1: every prompt names the same key (the first step to find is then always the same)
    seed: int = 1234

    def problems(self) -> list[tuple[str, str]]:
        problems = []
        if not 1 <= self.count <= COUNT_LIMIT:
            problems.append(("data.synthetic.count", f"must be in [1, {COUNT_LIMIT}], got {self.count}"))
        if not 1 <= self.steps <= MAX_STEPS:
            problems.append(("data.synthetic.steps", f"must be in [1, {MAX_STEPS}], got {self.steps}"))
        if not 1 <= self.keys <= len(WORDS):
            problems.append(("data.synthetic.keys", f"must be in [1, {len(WORDS)}], got {self.keys}"))
        return problems

    def rows(self) -> list[dict[str, Any]]:
        keys = [WORDS[index % self.keys] for index in range(self.count)]
        random.Random(self.seed).shuffle(keys)
        return [
            {"id": index, "problem": prompt_text(key), "key": key, "steps": self.steps}
            for index, key in enumerate(keys)
        ]


def prompt_text(key: str) -> str:
    return f"key {key}"


def completion_text(words: tuple[str, ...] | list[str]) -> str:
    return SEPARATOR.join(words)


def all_completions(steps: int) -> list[tuple[str, ...]]:
    """Every well-formed completion, as its step words (4 ** steps of them, in a fixed order)."""
    return list(itertools.product(WORDS, repeat=steps))


def parse_steps(text: str, steps: int) -> tuple[str, ...] | None:
    """The step words of a well-formed completion, else None (wrong count, stray text, unknown words)."""
    words = tuple(text.split(SEPARATOR))
    if len(words) != steps or any(word not in WORDS for word in words):
        return None
    return words


def step_reward(words: tuple[str, ...] | None, key: str) -> float:
    """0 unless the first step is the key; else (1 + later steps equal to the first) / steps."""
    if not words or words[0] != key:
        return 0.0
    return (1 + sum(word == words[0] for word in words[1:])) / len(words)
