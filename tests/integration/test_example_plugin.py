"""The example third-party plugin (examples/gnivo-reward-length), installed as CI installs it:

    pip install -e examples/gnivo-reward-length

then found by `gnivo rewards list` and used by `gnivo score`, through the installed command line.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

INSTALL = "pip install -e examples/gnivo-reward-length"


@pytest.fixture(scope="module", autouse=True)
def installed():
    try:
        importlib.metadata.distribution("gnivo-reward-length")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"the example plugin is not installed: run `{INSTALL}` first")


def gnivo(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "gnivo_cli", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300
    )


def test_rewards_list_shows_the_plugin(tmp_path):
    result = gnivo("rewards", "list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if " length " in line]
    assert "gnivo-reward-length 0.1.0" in line
    assert "near a target" in line and "ok" in line

    listed = json.loads(gnivo("rewards", "list", "--json", "--check", cwd=tmp_path).stdout)
    (info,) = [info for info in listed if info["name"] == "length"]
    assert info == {
        "name": "length",
        "distribution": "gnivo-reward-length",
        "version": "0.1.0",
        "description": "1.0 when a completion's length (words or characters) is near a target, falling to 0 beyond.",
        "value": "gnivo_reward_length:LengthReward",
        "status": "ok",
        "error": None,
    }


def test_gnivo_score_uses_the_plugin(tmp_path):
    rows = [
        {"prompt": "Summarize.", "completion": "one two three", "max_words": 3},
        {"prompt": "Summarize.", "completion": "one two three four five", "max_words": 3},
        {"prompt": "Summarize.", "completion": "one", "max_words": None},
    ]
    source = tmp_path / "summaries.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = gnivo(
        "score", source.name, "--reward", "length", "--param", "target_column=max_words", "--param", "tolerance=4",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    scored = [json.loads(line) for line in (tmp_path / "summaries.scored.jsonl").read_text().splitlines()]
    assert [row["reward"] for row in scored] == [1.0, 0.5, None]
    assert "length" in result.stdout and "mean reward" in result.stdout

    missing = gnivo("score", source.name, "--reward", "length", "--param", "target_column=budget", cwd=tmp_path)
    assert missing.returncode == 1
    assert "summaries.jsonl:1: missing field 'budget'" in missing.stderr


def test_the_plugin_adds_a_benchmark_that_gnivo_eval_lists_and_runs(tmp_path, tiny_model_dir):
    listed = gnivo("eval", "--list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "terse" in listed.stdout and "gnivo-reward-l" in listed.stdout

    typo = gnivo("eval", "--bench", "terce", cwd=tmp_path)
    assert typo.returncode == 1 and "did you mean 'terse'?" in typo.stderr

    out = tmp_path / "out"
    args = ["--model", str(tiny_model_dir), "--pass-at", "1", "--samples", "2", "--max-new-tokens", "8"]
    result = gnivo("eval", "--bench", "terse", *args, "--device", "cpu", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["benchmark"] == "terse" and results["reward"] == "length"
    assert results["num_problems"] == 4 and results["num_samples"] == 8
    assert results["settings"]["prompt_template"] == "{problem} Answer in as few words as asked."
    targets = {"colour": 1, "capital": 1, "greeting": 2, "weather": 3}
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    for row in samples:  # the length reward, recomputed from the generated text
        expected = max(0.0, 1.0 - abs(len(row["completion"].split()) - targets[row["problem_id"]]) / 4)
        assert row["reward"] == pytest.approx(expected)
        assert row["correct"] is (row["reward"] >= 1.0)
    assert results["pass@1"] == pytest.approx(sum(row["correct"] for row in samples) / 8)
