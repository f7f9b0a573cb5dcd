"""A rich progress bar over samples (on stderr), with throughput and an ETA."""

from __future__ import annotations

import time

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from gnivo_cli.console import err_console


class SampleProgress:
    """Context manager; call it with (samples, tokens) after each batch."""

    def __init__(self, label: str, *, total: int, done: int):
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("samples"),
            TextColumn("[dim]{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err_console,
        )
        self._task = self._progress.add_task(label, total=total, completed=done, rate="")
        self._started = time.perf_counter()
        self._samples = 0
        self._tokens = 0

    def __call__(self, samples: int, tokens: int) -> None:
        self._samples += samples
        self._tokens += tokens
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        rate = f"{self._samples / elapsed:.2f} samples/s, {self._tokens / elapsed:.0f} tok/s"
        self._progress.update(self._task, advance=samples, rate=rate)

    def __enter__(self) -> SampleProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()
