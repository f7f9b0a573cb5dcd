"""`gnivo score` end to end, as a user runs it (a subprocess of the installed command line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def gnivo(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "gnivo_cli", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300
    )


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


ROWS = [
    {"prompt": "1+1?", "completion": "It is \\boxed{2}.", "answer": "2", "id": "a"},
    {"prompt": "half?", "completion": "\\boxed{\\frac12}", "answer": 0.5, "id": "b"},
    {"prompt": "1+2?", "completion": "so the answer is 4", "answer": 3, "id": "c"},
    {"prompt": "?", "completion": "I don't know", "answer": "7", "id": "d"},
    {"prompt": "?", "completion": "\\boxed{9^{9^{9^{9}}}}", "answer": "1", "id": "e"},
    {"prompt": "?", "completion": "\\boxed{5}", "answer": None, "id": "f"},
]


def test_scores_a_file_with_the_math_reward(tmp_path):
    source = write_jsonl(tmp_path / "completions.jsonl", ROWS)
    result = gnivo("score", source.name, "--reward", "math", "-p", "timeout=2", "--batch-size", "4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    scored = read_jsonl(tmp_path / "completions.scored.jsonl")
    assert [row["reward"] for row in scored] == [1.0, 1.0, 0.0, 0.0, 0.0, None]
    assert [{k: v for k, v in row.items() if k != "reward"} for row in scored] == ROWS  # input rows kept as they were
    summary = result.stdout
    for expected in ("rows", "6", "mean reward", "0.4", "reward = 0", "50.0%", "reward = 1", "33.3%", "null", "16.7%"):
        assert expected in summary
    assert "timeouts" in summary and "unparsable" in summary


def test_params_output_and_a_plugin_option(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:4])
    out = tmp_path / "sub" / "out.jsonl"
    result = gnivo(
        "score", str(source), "-r", "math", "-p", "fallbacks=[]", "-p", "wrong=-1", "-p", "unparsable=-2",
        "--output", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [row["reward"] for row in read_jsonl(out)] == [1.0, 1.0, -2.0, -2.0]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([ROWS[0], "", {"prompt": "p", "completion": "c"}], "in.jsonl:3: missing field 'answer'"),
        ([ROWS[0], '{"prompt": "p", "completion": '], "in.jsonl:2: invalid JSON"),
        ([ROWS[0], "[1, 2]"], "in.jsonl:2: expected a JSON object"),
        ([{"completion": "c", "answer": "1"}], "in.jsonl:1: missing field 'prompt'"),
    ],
)
def test_a_bad_row_is_one_clear_error_and_an_existing_output_survives(tmp_path, lines, message):
    source = write_jsonl(tmp_path / "in.jsonl", lines)
    existing = tmp_path / "in.scored.jsonl"
    existing.write_text("precious\n")
    result = gnivo("score", source.name, "--reward", "math", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith(f"error: {message}")
    assert existing.read_text() == "precious\n"
    assert not list(tmp_path.glob("*.partial"))


def test_unknown_reward_and_bad_param(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:1])
    result = gnivo("score", source.name, "--reward", "maths", cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown reward 'maths'; did you mean 'math'?" in result.stderr
    result = gnivo("score", source.name, "--reward", "math", "--param", "timeout=soon", cwd=tmp_path)
    assert result.returncode == 1
    assert "reward 'math': parameter 'timeout' must be float, got 'soon'" in result.stderr


def test_an_output_folder_or_an_unrelated_file_is_one_line_and_force_overwrites(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS[:2])
    (tmp_path / "results").mkdir()
    result = gnivo("score", source.name, "--reward", "math", "-o", "results", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: results is a folder; --output takes a file path")
    assert not list(tmp_path.rglob("*.partial"))

    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"mine": 1}\n')
    result = gnivo("score", source.name, "--reward", "math", "-o", notes.name, cwd=tmp_path)
    assert result.returncode == 1 and "is not a scored copy of in.jsonl" in result.stderr
    assert notes.read_text() == '{"mine": 1}\n'
    result = gnivo("score", source.name, "--reward", "math", "-o", notes.name, "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [row["reward"] for row in read_jsonl(notes)] == [1.0, 1.0]


def test_a_killed_run_resumes_without_rescoring(tmp_path):
    import signal
    import time

    rows = [{"prompt": "?", "completion": f"\\boxed{{{i}}}", "answer": str(i)} for i in range(400)]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    env = {**os.environ, "COLUMNS": "160"}
    args = [sys.executable, "-m", "gnivo_cli", "score", source.name, "--reward", "math", "--batch-size", "1"]
    process = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    partial = tmp_path / "in.scored.jsonl.partial"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if partial.is_file() and len(partial.read_bytes().splitlines()) >= 5:
            break
        time.sleep(0.05)
    if process.poll() is not None:
        pytest.skip("scoring finished before it could be killed")
    process.send_signal(signal.SIGKILL)
    process.wait()
    kept = len(partial.read_bytes().splitlines())
    assert 0 < kept < 400

    result = gnivo("score", source.name, "--reward", "math", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    scored = read_jsonl(tmp_path / "in.scored.jsonl")
    assert [row["answer"] for row in scored] == [str(i) for i in range(400)]
    assert all(row["reward"] == 1.0 for row in scored)
    assert not partial.exists()
