"""What every generation backend implements, and the seeding that makes samples reproducible.

A backend takes sample requests (one per problem x sample index) and yields completions batch by
batch, so the caller can score and save each batch as soon as it is done.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class SampleRequest:
    """Sample `sample_index` of problem `problem_id`, whose prompt is `prompt_ids`."""

    problem_id: str
    sample_index: int
    prompt_ids: Sequence[int]


@dataclass(frozen=True)
class Completion:
    request: SampleRequest
    text: str
    num_tokens: int  # generated tokens, the end-of-sequence token included
    finish_reason: Literal["stop", "length"]
    token_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class LoadedModel:
    """A model already in memory, with its tokenizer: evaluated as it is, with no second load (the policy a
    training run holds). `identity` names the weights in run.json and results.json, e.g. `runs/x@step-50`."""

    model: Any
    tokenizer: Any
    identity: str


@runtime_checkable
class Generator(Protocol):
    """A generation backend. `generate` may order and group requests as it likes, but yields every
    request's completion exactly once."""

    name: str

    def generate(self, requests: Sequence[SampleRequest]) -> Iterator[list[Completion]]: ...

    def close(self) -> None: ...


def derive_seed(seed: int, problem_id: str, sample_index: int | None = None) -> int:
    """A 63-bit seed for one (seed, problem, sample) — or one problem — independent of batching, so a
    resumed run draws what an uninterrupted one would."""
    key = f"{seed}\x00{problem_id}\x00{'' if sample_index is None else sample_index}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> 1
