"""The output folder of an evaluation: samples appended as they complete, so a run can resume.

- `samples.jsonl`: one row per sample, appended and flushed batch by batch.
- `run.json`: the settings that produced those samples; a rerun with other settings is refused, so
  samples of two configurations never mix.
- `results.json`: the scores, written (atomically) at the end.
- `samples.rank-R.jsonl`: the samples of process R > 0 in a several-process run (see `sharding`), merged
  into `samples.jsonl` by process 0.

While a run writes, it holds the folder's lock (`gnivo.lock`, see `gnivo_cli.files.locking`): a second
evaluation into the same folder is refused, naming the one that writes, instead of writing every sample a
second time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gnivo_cli.differences import leaf_changes
from gnivo_cli.errors import GnivoError
from gnivo_cli.files.atomic import write_json_atomic
from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.files.jsonl import complete_lines
from gnivo_cli.files.locking import LOCK_FILE, ExclusiveLock, Holder

SAMPLES_FILE = "samples.jsonl"
RESULTS_FILE = "results.json"
RUN_FILE = "run.json"

SampleKey = tuple[str, int]


class RunStore:
    """Use as a context manager: `open` takes the folder's lock, leaving the block releases it."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.samples_path = self.directory / SAMPLES_FILE
        self.results_path = self.directory / RESULTS_FILE
        self.run_path = self.directory / RUN_FILE
        self._handle: Any = None
        self._lock: ExclusiveLock | None = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _take_lock(self) -> None:
        from gnivo_cli.training.launch import command_text

        def busy(holder: Holder | None) -> str:
            who = holder.describe() if holder else "another `gnivo eval`"
            return f"{self.directory}: {who} is writing to this folder; wait for it, or use another --output-dir"

        self._lock = ExclusiveLock(self.directory / LOCK_FILE, command=command_text(), busy=busy).acquire()
        self._handle = self.samples_path.open("ab")

    def open(self, fingerprint: dict[str, Any]) -> dict[SampleKey, dict[str, Any]]:
        """Check that the folder holds no samples of other settings, record ours, and return the samples
        already there, by (problem_id, sample_index)."""
        if self.directory.exists() and not self.directory.is_dir():
            raise GnivoError(f"{self.directory}: exists and is not a folder")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self.merge_shards()  # left by a killed several-process run
        rows = self._read_samples()
        if rows:
            recorded = self._recorded_fingerprint()
            if recorded != fingerprint:
                raise GnivoError(
                    f"{self.directory} holds samples of other settings ({_differences(recorded, fingerprint)}); "
                    f"use another --output-dir, or delete {self.samples_path} to start over"
                )
        write_json_atomic(self.run_path, {"fingerprint": fingerprint})
        return rows

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows and push them to disk: a killed run keeps every batch that finished."""
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        if self._handle is None:
            raise RuntimeError("RunStore.append before open")
        self._handle.write(text.encode("utf-8"))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def read_samples(self) -> dict[SampleKey, dict[str, Any]]:
        """The samples already in the folder, for a process that does not own it (no lock, no writes)."""
        if not self.samples_path.is_file():
            return {}
        raw = self.samples_path.read_bytes()
        return _parse_samples(self.samples_path, complete_lines(raw))

    def shard_writer(self, rank: int) -> ShardWriter:
        return ShardWriter(self.directory / f"samples.rank-{rank}.jsonl")

    def merge_shards(self) -> dict[SampleKey, dict[str, Any]]:
        """Append the other processes' samples to samples.jsonl (each once) and remove their files."""
        merged: dict[SampleKey, dict[str, Any]] = {}
        shard_files = sorted(self.directory.glob("samples.rank-*.jsonl"))
        if not shard_files:
            return merged
        present = self._read_samples()
        for path in shard_files:
            raw = path.read_bytes()
            rows = _parse_samples(path, complete_lines(raw))
            merged.update({key: row for key, row in rows.items() if key not in present})
        self.append(merged.values())
        for path in shard_files:
            path.unlink()
        return merged

    def read_results(self) -> dict[str, Any]:
        return read_json_object(self.results_path) or {}

    def write_results(self, results: dict[str, Any]) -> None:
        write_json_atomic(self.results_path, results)

    def _recorded_fingerprint(self) -> dict[str, Any] | None:
        return (read_json_object(self.run_path, invalid="none") or {}).get("fingerprint")

    def _read_samples(self) -> dict[SampleKey, dict[str, Any]]:
        if not self.samples_path.is_file():
            return {}
        raw = self.samples_path.read_bytes()
        complete = complete_lines(raw)  # a run killed mid-write may have torn the last line: cut it
        if len(complete) != len(raw):
            with self.samples_path.open("r+b") as handle:
                handle.truncate(len(complete))
        return _parse_samples(self.samples_path, complete)


class ShardWriter:
    """Appends one process's samples to its own file, pushed to disk batch by batch."""

    def __init__(self, path: Path):
        self.path = path

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        with self.path.open("ab") as handle:
            handle.write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())


def _parse_samples(path: Path, complete: bytes) -> dict[SampleKey, dict[str, Any]]:
    rows: dict[SampleKey, dict[str, Any]] = {}
    for number, line in enumerate(complete.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows[(str(row["problem_id"]), int(row["sample_index"]))] = row
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise GnivoError(f"{path}:{number}: not a sample row; delete the file to start over") from None
    return rows


def _differences(recorded: dict[str, Any] | None, current: dict[str, Any]) -> str:
    if recorded is None:
        return f"no readable {RUN_FILE} records them"
    changes = leaf_changes(recorded, current)
    return ", ".join(f"{key}: {_short(old)} -> {_short(new)}" for key, (old, new) in changes.items())


def _short(value: Any, width: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."
