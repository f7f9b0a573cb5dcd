"""Reading JSONL files with errors that name the file and line, and the one reading of a torn last line: a
line without its newline that a writer killed mid-write left behind (`iter_jsonl(torn_tail_ok=True)` for
readers, `complete_lines` for appenders that write on)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, AnyStr

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


def complete_lines(raw: AnyStr) -> AnyStr:
    """What an appending writer left complete: `raw` up to its last newline. The rest is a last line a writer
    killed mid-line tore (or one it is still writing): an appender cuts it before writing on."""
    newline = b"\n" if isinstance(raw, bytes) else "\n"
    return raw[: raw.rfind(newline) + 1]  # type: ignore[arg-type]
