"""Checks on paths, so a bad `-o` or data path is one clear line before any work rather than a traceback after
it, and a full disk is said to be one."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from gnivo_cli.errors import GnivoError


def check_output_dir(path: Path, option: str) -> None:
    """`path` must be a directory or creatable as one: no part of it may be an existing file."""
    if path.exists() and not path.is_dir():
        raise GnivoError(f"{option} {path}: is a file, not a directory; choose a directory path")
    _check_parents(path, option)


def check_output_file(path: Path, option: str, suffixes: dict[str, str] | None = None) -> None:
    """`path` must be a file path (not a directory) under creatable directories, with a known suffix."""
    if path.is_dir():
        raise GnivoError(f"{option} {path}: is a directory; give a file name, e.g. {path / 'compare.png'}")
    if suffixes is not None and path.suffix.lower().lstrip(".") not in suffixes:
        known = ", ".join("." + s for s in sorted(suffixes))
        raise GnivoError(f"{option} {path}: unsupported file type {path.suffix or '(none)'!r}; use one of {known}")
    _check_parents(path, option)


def _check_parents(path: Path, option: str) -> None:
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise GnivoError(f"{option} {path}: {parent} is a file, not a directory")
            return


def file_problem(path: Path) -> str | None:
    """Why `path` is not a file that can be read (a folder, a symlink loop, a dangling link, missing), or None."""
    path = Path(path)
    if path.is_file():
        return None
    if path.is_dir():
        return "is a directory, not a file"
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except (OSError, RuntimeError) as error:  # ELOOP (RuntimeError before Python 3.13), or a missing target
            if isinstance(error, RuntimeError) or getattr(error, "errno", None) == errno.ELOOP:
                return "is a symbolic link that points back to itself (a loop)"
            return f"is a symbolic link to {os.readlink(path)}, which does not exist"
    if path.exists():
        return "is not a regular file"
    return "no such file"


#: How torch reports a failed write (its zip writer loses the errno): "unexpected pos 5120 vs 5012", ...
_TORCH_WRITE_FAILURES = ("unexpected pos", "PytorchStreamWriter failed", "file write failed")


def disk_full_message(error: BaseException, path: Path) -> str | None:
    """One line for a write that failed because the disk holding `path` is full, or None for other errors."""
    full = isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
    write_failed = isinstance(error, RuntimeError) and any(text in str(error) for text in _TORCH_WRITE_FAILURES)
    if not (full or write_failed):
        return None
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        free = None
    if write_failed and free is not None and free > 2**30:
        return None  # plenty of room: the write failed for another reason
    left = f" ({free / 2**20:.0f} MiB free)" if free is not None else ""
    return f"no space left on the disk holding {path}{left}"
