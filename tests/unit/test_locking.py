"""One writer per output: the lock refuses a second holder, names the first, and dies with its process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from gnivo_cli.files.locking import ExclusiveLock, Holder, LockHeld


def _lock(path, command="gnivo train a.yaml"):
    return ExclusiveLock(path, command=command, busy=lambda holder: f"busy: {holder and holder.describe()}")


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    path = tmp_path / "gnivo.lock"
    with _lock(path):
        recorded = Holder.read(path.read_text())
        assert recorded is not None and recorded.pid == os.getpid() and recorded.command == "gnivo train a.yaml"
        with pytest.raises(LockHeld, match=rf"busy: `gnivo train a\.yaml` \(pid {os.getpid()}, started ") as held:
            _lock(path, "gnivo train b.yaml").acquire()
        assert held.value.holder == recorded
    assert not path.exists()  # released: the file goes with the lock
    with _lock(path, "gnivo train b.yaml"):  # and the next one takes it
        assert Holder.read(path.read_text()).command == "gnivo train b.yaml"


def test_a_lock_file_left_behind_without_its_process_blocks_nothing(tmp_path):
    path = tmp_path / "gnivo.lock"
    path.write_text(json.dumps({"pid": 999999, "host": "elsewhere", "started": 0.0, "command": "gnivo train x"}))
    with _lock(path):
        assert Holder.read(path.read_text()).pid == os.getpid()


def test_the_lock_dies_with_a_killed_holder(tmp_path):
    path = tmp_path / "gnivo.lock"
    holder = textwrap.dedent(f"""
        import sys, time
        from gnivo_cli.files.locking import ExclusiveLock
        lock = ExclusiveLock({str(path)!r}, command="gnivo train held", busy=str).acquire()
        print("held", flush=True)
        time.sleep(600)
    """)
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld, match=r"`gnivo train held` \(pid \d+"):
            _lock(path).acquire()
    finally:
        process.kill()  # kill -9: no cleanup runs, the lock file stays behind
        process.wait()
    assert path.exists()
    with _lock(path):
        assert Holder.read(path.read_text()).pid == os.getpid()


def test_a_holder_on_another_host_is_named_with_it():
    holder = Holder(pid=12, host="node-7.cluster", started=0.0, command="gnivo train a.yaml")
    assert "pid 12 on node-7.cluster" in holder.describe()
    assert Holder.read("not json") is None
