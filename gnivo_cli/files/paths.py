"""Checks on output paths, so a bad `-o` is one clear line before any work rather than a traceback after it."""

from __future__ import annotations

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
