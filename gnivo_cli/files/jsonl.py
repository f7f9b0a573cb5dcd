"""Reading JSONL files with errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError


def iter_jsonl(path: Path, *, torn_tail_ok: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a bad line raises a GnivoError naming it.

    `torn_tail_ok`: a last line without its newline that is not valid JSON (a writer was killed, or is still
    appending) is skipped instead: every other line is complete.
    """
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            torn = torn_tail_ok and not raw.endswith(b"\n")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                if torn:  # cut inside a character
                    return
                raise GnivoError(f"{where}: not valid UTF-8 ({error.reason} at byte {error.start})") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                if torn:
                    return
                raise GnivoError(f"{where}: invalid JSON: {error.msg} (column {error.colno})") from None
            if not isinstance(row, dict):
                raise GnivoError(f"{where}: expected a JSON object, got {type(row).__name__}")
            yield number, row


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All objects of a JSONL file."""
    return [row for _, row in iter_jsonl(path)]
