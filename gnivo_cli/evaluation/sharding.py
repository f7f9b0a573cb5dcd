"""`gnivo eval` in several processes (`accelerate launch` / `gnivo eval --num-processes N`).

Problems are dealt out by position (problem j goes to process j mod N), all samples of a problem to one
process, so each process keeps the shared-prompt prefill. Every sample's seed depends only on the run's
seed, the problem and the sample index, so the samples are the ones a single process draws. Process 0
owns the folder (its lock, samples.jsonl, results.json); the others append to samples.rank-R.jsonl,
which process 0 merges when all are done, or when a rerun finds one left by a killed run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from gnivo_cli.training.launch import process_place

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @classmethod
    def from_environment(cls) -> Shard:
        """The process's place in a torchrun/accelerate launch (one process when not launched)."""
        return cls(*process_place())

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def take(self, problems: Sequence[T]) -> list[T]:
        return [p for index, p in enumerate(problems) if index % self.world == self.rank]

    def default_device(self) -> str | None:
        """Each process its own GPU; None (the backend's default) in a single process or on the CPU."""
        if self.world == 1:
            return None
        from gnivo_cli.models.devices import pick_device

        return pick_device(local_rank=self.local_rank)

    def barrier(self) -> None:
        if self.world == 1:
            return
        import torch
        from accelerate import PartialState

        PartialState(cpu=not torch.cuda.is_available()).wait_for_everyone()
