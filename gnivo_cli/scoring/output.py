"""The output file of `gnivo score`: written to ``OUT.partial`` and renamed when complete, resumable.

- ``OUT.partial``: scored rows (input row + `reward`), appended and flushed batch by batch. A run that
  is interrupted or killed leaves it behind; a torn last line is dropped on the next run.
- ``OUT.partial.json``: the reward and params that produced those rows. A rerun with the same input,
  reward and params keeps them and scores only the rest; anything else is refused unless forced.
- ``OUT``: replaced only when every row is scored. An existing OUT that is not a scored copy of this
  input (for example an unrelated file) is refused unless forced.

While a run writes, it holds the lock ``OUT.lock`` (`gnivo_cli.files.locking`): a second run into the same
output is refused, naming the one that writes, instead of interleaving rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.files.atomic import write_json_atomic
from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.files.jsonl import complete_lines
from gnivo_cli.files.locking import ExclusiveLock, Holder
from gnivo_cli.training.launch import command_text

Rows = Callable[[], Iterator[dict[str, Any]]]


class ScoreOutput:
    def __init__(self, out: Path, source: Path, *, identity: dict[str, Any]):
        self.out, self.source, self.identity = out, source, identity
        self.partial = out.with_name(out.name + ".partial")
        self.meta = out.with_name(out.name + ".partial.json")
        self.lock_path = out.with_name(out.name + ".lock")
        self.resumed = 0
        self.resumed_scores: list[float | None] = []
        self._handle: IO[str] | None = None

    @contextmanager
    def open(self, *, force: bool, read_input: Rows) -> Iterator[ScoreOutput]:
        self._check_paths()
        if self.out.exists() and not force and not _is_scored_copy(self.out, read_input):
            raise GnivoError(
                f"{self.out} exists and is not a scored copy of {self.source}; "
                "choose another --output, or pass --force to overwrite it"
            )
        self.out.parent.mkdir(parents=True, exist_ok=True)
        with ExclusiveLock(self.lock_path, command=command_text(), busy=self._busy):
            handle = self.partial.open("a+", encoding="utf-8")
            try:
                self._handle = handle
                self._resume(force, read_input)
                yield self
            finally:
                handle.close()
                self._handle = None

    def _busy(self, holder: Holder | None) -> str:
        who = holder.describe() if holder else "another `gnivo score`"
        return f"{self.out}: {who} is writing this output; wait for it to finish"

    def _check_paths(self) -> None:
        for path in (self.out, self.partial):
            if path.is_dir():
                raise GnivoError(f"{path} is a folder; --output takes a file path, e.g. {path / 'scored.jsonl'}")
        parent = self.out.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise GnivoError(f"{self.out}: {parent} is a file, not a folder")

    def _resume(self, force: bool, read_input: Rows) -> None:
        handle = self._handle
        assert handle is not None
        handle.seek(0)
        raw = handle.read()
        complete = complete_lines(raw)  # a killed run may leave a torn last line
        if not complete.strip():
            self._start_over()
            return
        recorded = _read_meta(self.meta)
        rows = _matching_prefix(complete, read_input)
        if recorded == self.identity and rows is not None:
            if len(complete) != len(raw):
                handle.truncate(len(complete.encode("utf-8")))
            self.resumed = len(rows)
            self.resumed_scores = [row.get("reward") for row in rows]
            handle.seek(0, os.SEEK_END)
            return
        if not force:
            why = (
                f"rows of another input ({self.source} changed)"
                if rows is None and recorded is not None
                else f"rows scored with other settings ({_describe(recorded)} -> {_describe(self.identity)})"
            )
            raise GnivoError(
                f"{self.partial} holds {why}; rerun with the same input, reward and params to resume, "
                "or pass --force to start over"
            )
        self._start_over()

    def _start_over(self) -> None:
        handle = self._handle
        assert handle is not None
        handle.seek(0)
        handle.truncate(0)
        write_json_atomic(self.meta, self.identity)

    def write(self, text: str) -> None:
        assert self._handle is not None
        self._handle.write(text)

    def flush(self) -> None:
        assert self._handle is not None
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def finish(self) -> None:
        self.flush()
        os.replace(self.partial, self.out)
        self.meta.unlink(missing_ok=True)

    def kept(self, done: int, cause: str = "the error") -> str:
        """The end of an error message: where the rows scored so far are; where there are none, the partial
        files go (nothing to resume from) and it says nothing was written."""
        if done == 0:
            self.partial.unlink(missing_ok=True)
            self.meta.unlink(missing_ok=True)
            return "; nothing was written"
        return f" ({done} rows scored before {cause} are in {self.partial}; rerun the same command to resume)"


def _matching_prefix(text: str, read_input: Rows) -> list[dict[str, Any]] | None:
    """The scored rows, if each is its input row plus `reward`; else None."""
    rows = []
    source = read_input()
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            return None
        original = next(source, None)
        if not isinstance(row, dict) or "reward" not in row or original is None:
            return None
        if {k: v for k, v in row.items() if k != "reward"} != {k: v for k, v in original.items() if k != "reward"}:
            return None
        rows.append(row)
    return rows


def _is_scored_copy(out: Path, read_input: Rows) -> bool:
    """Whether `out` holds exactly the input's rows, each with a `reward`: this command's own output."""
    try:
        text = out.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    rows = _matching_prefix(text, read_input)
    return rows is not None and len(rows) == sum(1 for _ in read_input())


def _read_meta(path: Path) -> dict[str, Any] | None:
    return read_json_object(path, invalid="none")


def _describe(identity: dict[str, Any] | None) -> str:
    if identity is None:
        return "unknown"
    return f"{identity.get('reward')} {json.dumps(identity.get('params'), sort_keys=True)[:80]}"
