"""`gnivo eval --num-processes 2`: the problems spread over two processes give a single process's samples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gnivo_cli.evaluation.runner import evaluate
from gnivo_cli.evaluation.store import RunStore

pytestmark = pytest.mark.slow

ROWS = [{"id": i, "problem": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(1, 6)]


def _samples(folder: Path) -> dict[tuple[str, int], str]:
    rows = [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == len({(r["problem_id"], r["sample_index"]) for r in rows})  # each sample once
    return {(r["problem_id"], r["sample_index"]): r["completion"] for r in rows}


def test_two_processes_draw_the_samples_of_one(tmp_path, tiny_model_dir):
    data = tmp_path / "aime.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    settings = dict(model=str(tiny_model_dir), samples=3, max_new_tokens=8, data=str(data))
    single = evaluate("aime24", output_dir=tmp_path / "one", **settings)
    command = [sys.executable, "-m", "gnivo_cli", "eval", "--bench", "aime24", "--model", str(tiny_model_dir)]
    command += ["--samples", "3", "--max-new-tokens", "8", "--data", str(data), "-o", str(tmp_path / "two")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*command, "--num-processes", "2"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _samples(tmp_path / "two") == _samples(tmp_path / "one")
    results = json.loads((tmp_path / "two" / "results.json").read_text())
    assert results["timing"]["processes"] == 2 and results["timing"]["samples_generated"] == 15
    assert results["pass@1"] == single.results["pass@1"]
    assert not list((tmp_path / "two").glob("samples.rank-*.jsonl"))  # merged by process 0
    assert done.stdout.count("pass@1") == 1  # one report, from process 0


def test_a_killed_process_s_samples_are_merged_once_on_rerun(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    row = {"problem_id": "1", "sample_index": 0, "completion": "a"}
    (folder / "samples.jsonl").write_text(json.dumps(row) + "\n")
    (folder / "run.json").write_text(json.dumps({"fingerprint": {"x": 1}}))
    (folder / "samples.rank-1.jsonl").write_text(
        json.dumps(row) + "\n" + json.dumps({**row, "problem_id": "2"}) + "\n" + '{"problem_id": "3", "sam'
    )
    with RunStore(folder) as store:
        assert set(store.open({"x": 1})) == {("1", 0), ("2", 0)}  # the torn last line is dropped
    assert not (folder / "samples.rank-1.jsonl").exists()
    assert len((folder / "samples.jsonl").read_text().splitlines()) == 2
