"""One writer per output: an exclusive OS lock on a lock file that names its holder.

`gnivo train` locks its run directory, `gnivo eval` its output folder and `gnivo score` its output file, each
for as long as it writes. The lock is the operating system's (`flock`): it goes away with its process, kill -9
included, so a lock file left behind by a killed run never blocks the next one, which takes the lock and
records itself as the holder. A released lock's file is removed.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gnivo_cli.errors import GnivoError

#: The lock file of a folder that gnivo writes (a training run, an evaluation).
LOCK_FILE = "gnivo.lock"


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: recorded in the lock file when it is taken."""

    pid: int
    host: str
    started: float  # seconds since the epoch
    command: str

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        here = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"`{self.command}` (pid {self.pid}{here}, started {when})"

    @classmethod
    def read(cls, text: str) -> Holder | None:
        try:
            data = json.loads(text)
            return cls(int(data["pid"]), str(data["host"]), float(data["started"]), str(data["command"]))
        except (ValueError, KeyError, TypeError):
            return None  # being written this instant, or not ours


class LockHeld(GnivoError):
    """Another process holds the lock; `holder` says who, where the lock file tells."""

    def __init__(self, message: str, holder: Holder | None):
        super().__init__(message)
        self.holder = holder


class ExclusiveLock:
    """An exclusive, non-blocking lock on `path` (created if missing), as a context manager.

    `busy(holder)` builds the message of the `LockHeld` raised when another process holds it (`holder` None
    where the lock file does not say).
    """

    def __init__(self, path: Path, *, command: str, busy: Any):
        self.path = Path(path)
        self.command = command
        self.busy = busy
        self._handle: IO[str] | None = None

    def acquire(self) -> ExclusiveLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks, one writer assumed
            return self
        while True:
            handle = self.path.open("a+", encoding="utf-8")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = Holder.read(handle.read())
                handle.close()
                raise LockHeld(self.busy(holder), holder) from None
            if _same_file(handle, self.path):
                break
            handle.close()  # the holder released (and removed) it between our open and our lock: take the new one
        holder = Holder(os.getpid(), socket.gethostname(), time.time(), self.command)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder.__dict__) + "\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is None:
            return
        self.path.unlink(missing_ok=True)  # while still held: no one can lock the file we are removing
        self._handle.close()
        self._handle = None

    def __enter__(self) -> ExclusiveLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        return False
