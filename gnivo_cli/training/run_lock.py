"""One writer per run directory: `gnivo train` holds a lock on it for its whole life.

A second `gnivo train` into the same directory, or a `--resume` of a run that is still training, is refused
at once, naming the holder, before anything is read, truncated or written. The lock is the operating
system's (`gnivo_cli.files.locking`): a run killed with kill -9 leaves no lock behind that blocks its
resume. With several processes, the process that launches them holds the lock (its workers are told so
through the environment); under a bare `accelerate launch`, process 0 does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gnivo_cli.files.locking import LOCK_FILE, ExclusiveLock, Holder
from gnivo_cli.files.paths import check_output_dir

#: Set for launched workers by the `gnivo train` that launched them and holds the lock: the lock file's path.
HELD_BY_LAUNCHER = "GNIVO_RUN_LOCK"


@contextmanager
def locked_run_dir(output_dir: Path, *, resume: bool) -> Iterator[None]:
    """Hold `output_dir`'s lock (creating the directory for it); a directory this made and left empty goes."""
    from gnivo_cli.training.launch import command_text, is_main_process

    lock_path = Path(output_dir).absolute() / LOCK_FILE
    held_elsewhere = os.environ.get(HELD_BY_LAUNCHER) == str(lock_path) or not is_main_process()
    if held_elsewhere or (resume and not lock_path.parent.is_dir()):  # nothing to resume: the plan says so
        yield
        return
    check_output_dir(Path(output_dir), "training.output_dir")  # a file there: one clear line, not mkdir's error
    created = _missing_directories(lock_path.parent)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with ExclusiveLock(lock_path, command=command_text(), busy=lambda holder: _busy(output_dir, holder, resume)):
            yield
    finally:
        for directory in created:  # deepest first: only what this start made, and only if still empty
            try:
                directory.rmdir()
            except OSError:
                break


@contextmanager
def locked_for_workers(output_dir: Path, *, resume: bool) -> Iterator[None]:
    """Hold the lock in a launching process, and tell the workers it launches that it is held."""
    with locked_run_dir(output_dir, resume=resume):
        os.environ[HELD_BY_LAUNCHER] = str(Path(output_dir).absolute() / LOCK_FILE)
        try:
            yield
        finally:
            os.environ.pop(HELD_BY_LAUNCHER, None)


def _busy(output_dir: Path, holder: Holder | None, resume: bool) -> str:
    who = holder.describe() if holder else "another gnivo process"
    if resume:
        stop = f"kill -TERM {holder.pid}" if holder else "kill -TERM"
        return (
            f"--resume: {output_dir} is still being trained by {who}; stop it first (Ctrl-C in its terminal, or "
            f"{stop}: it saves a checkpoint), then resume"
        )
    return f"{output_dir} is in use by {who}; wait for it to finish, or choose another --output-dir"


def _missing_directories(path: Path) -> list[Path]:
    """`path` and its parents that do not exist yet, deepest first."""
    missing = []
    for directory in [path, *path.parents]:
        if directory.exists():
            break
        missing.append(directory)
    return missing
