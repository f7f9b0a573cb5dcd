"""Stop requests (SIGINT, SIGTERM) for a training run, from its first line to its last.

Light on purpose (no torch, no transformers): `train` installs the handler before the libraries load, so
an interrupt while they load is caught too. Until the run writes anything (`StopRequest.committed` false)
a request interrupts at once and is also recorded, because a library may swallow the KeyboardInterrupt: one
raised while Python runs a finalizer (`__del__`, as regex's `Group.__del__` during transformers' imports) is
printed as "Exception ignored" and dropped; `train` checks `requested` before it writes. From then on a
request finishes the step under way (or, in generation, ends it at the next token) and saves a checkpoint
(`checkpoint_state.GracefulStop`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gnivo_cli.errors import TrainingInterrupted


class StopRequest:
    """Whether, and by which signal, this run was asked to stop."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.committed = False  # the run has begun to write: finish what is under way instead of interrupting
        self.steps_per_batch = 1  # optimizer steps trained on one generated batch, for the message

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def before_start(self, output_dir: str, *, resumable: bool) -> TrainingInterrupted:
        """The error for a start stopped before it wrote anything (a KeyboardInterrupt without a signal: SIGINT)."""
        signum = self.signal or signal.SIGINT
        return TrainingInterrupted(
            f"stopped by {signal_name(signum)} before training started; nothing was written",
            signum=signum,
            step=0,
            output_dir=output_dir,
            resumable=resumable,
        )


def signal_name(signum: int | None) -> str:
    return signal.Signals(signum).name if signum else "a signal"


@contextmanager
def stop_on_signals(stop: StopRequest, announce: Callable[[str], None]) -> Iterator[None]:
    """SIGINT/SIGTERM ask `stop` to finish the step and save; a second one interrupts at once. Until
    `stop.committed`, the first one interrupts at once too (and is recorded in `stop`).

    In a process started by a launcher (torchrun, accelerate), further signals are ignored: the launcher
    forwards the terminal's Ctrl-C to its workers a second time within milliseconds, and kills them
    itself when a user insists.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed in the main thread
        return
    from gnivo_cli.training.launch import in_launched_worker, is_main_process

    launched = in_launched_worker()

    def handle(signum: int, frame: Any) -> None:
        if stop.requested:
            if launched:
                return
            raise KeyboardInterrupt
        stop.signal = signum
        if not stop.committed:
            raise KeyboardInterrupt  # still starting: nothing written, nothing to save
        if is_main_process():
            again = "" if launched else " (press Ctrl-C again to stop at once)"
            what = "this step" if stop.steps_per_batch == 1 else "the passes over this generated batch"
            announce(f"{signal_name(signum)}: finishing {what} and saving a checkpoint{again}")

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
