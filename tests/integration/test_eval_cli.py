"""`gnivo eval` on the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gnivo_cli.cli import main

REPO = Path(__file__).resolve().parents[2]


def _gnivo(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_prints_the_registry(capsys):
    code, out, _ = _gnivo(["eval", "--list"], capsys)
    assert code == 0
    for name in ("aime24", "aime25", "amc23", "math500", "minerva", "olympiadbench", "gsm8k"):
        assert name in out
    assert "HuggingFaceH4/" in out and "openai/gsm8k" in out


def test_unknown_benchmark_is_one_clear_line(capsys):
    code, _, err = _gnivo(["eval", "--bench", "aime2024"], capsys)
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith(
        "error: unknown benchmark 'aime2024'; did you mean 'aime24'? (known: aime24, aime25, amc23, math500, "
        "minerva, olympiadbench, gsm8k"
    )


def test_missing_bench_and_bad_k_are_clear_errors(capsys):
    code, _, err = _gnivo(["eval"], capsys)
    assert code == 1 and "--bench is required" in err
    code, _, err = _gnivo(["eval", "--bench", "aime24", "--pass-at", "4", "--samples", "2"], capsys)
    assert code == 1 and "--samples 2 is smaller than --pass-at 4" in err
    assert "Traceback" not in err


def test_vllm_without_vllm_is_a_clear_error(capsys, monkeypatch, shared_benchmarks):
    monkeypatch.setitem(sys.modules, "vllm", None)  # what Python records for a module that cannot be imported
    code, _, err = _gnivo(["eval", "--bench", "aime24", "--backend", "vllm", "--data", str(shared_benchmarks)], capsys)
    assert code == 1
    assert "--backend vllm needs vLLM" in err and "gnivo[vllm]" in err


def test_eval_writes_both_files_and_a_table(tmp_path, capsys, shared_benchmarks, tiny_model_dir):
    out_dir = tmp_path / "aime24-eval"
    args = ["eval", "--bench", "aime24", "--pass-at", "1", "--pass-at", "3"]
    args += ["--data", str(shared_benchmarks / "aime24.jsonl"), "--limit", "3", "--max-new-tokens", "8"]
    args += ["--model", str(tiny_model_dir), "--output-dir", str(out_dir), "--system-prompt", "Be brief."]
    code, out, _ = _gnivo(args, capsys)
    assert code == 0
    results = json.loads((out_dir / "results.json").read_text())
    rows = [json.loads(line) for line in (out_dir / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 9 and results["num_samples"] == 9
    for key in ("pass@1", "pass@3", "avg@3"):
        assert 0.0 <= results[key] <= 1.0
        assert key in out  # the terminal table shows the same numbers
    assert results["settings"]["system_prompt"] == "Be brief."
    assert results["settings"]["max_new_tokens"] == 8
    assert str(out_dir / "results.json") in out.replace("\n", "")
    # Rerunning the same command resumes: nothing left to generate.
    code, _, _ = _gnivo(args, capsys)
    assert code == 0
    assert json.loads((out_dir / "results.json").read_text())["timing"]["samples_resumed"] == 9


def test_greedy_with_several_samples_warns(tmp_path, capsys, shared_benchmarks, tiny_model_dir):
    args = ["eval", "--bench", "gsm8k", "--pass-at", "2", "--temperature", "0", "--limit", "1"]
    args += ["--data", str(shared_benchmarks), "--max-new-tokens", "2", "--model", str(tiny_model_dir)]
    code, _, err = _gnivo([*args, "--output-dir", str(tmp_path)], capsys)
    assert code == 0
    assert "warning: --temperature 0 is greedy: all 2 samples of a problem will be the same" in err
    rows = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["completion"] == rows[1]["completion"]


@pytest.mark.slow
def test_killed_process_keeps_finished_batches_and_resumes(tmp_path, shared_benchmarks, tiny_model_dir):
    out_dir = tmp_path / "killed"
    args = [
        sys.executable,
        "-c",
        "from gnivo_cli.cli import main; main()",
        "eval",
        "--bench",
        "amc23",
        "--pass-at",
        "2",
    ]
    args += ["--data", str(shared_benchmarks), "--max-new-tokens", "24", "--batch-size", "2"]
    args += ["--model", str(tiny_model_dir), "--output-dir", str(out_dir)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([*args], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = out_dir / "samples.jsonl"
    try:
        while process.poll() is None and not (samples.is_file() and samples.read_text().count("\n") >= 4):
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    kept = samples.read_text().count("\n")
    assert 4 <= kept < 80
    finished = subprocess.run([*args], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert "pass@2" in finished.stdout
    results = json.loads((out_dir / "results.json").read_text())
    assert results["num_samples"] == 80
    assert results["timing"]["samples_resumed"] == kept
    assert results["timing"]["samples_generated"] == 80 - kept
    reference = subprocess.run(
        [*args[:-1], str(tmp_path / "whole")], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert reference.returncode == 0
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    assert {k: v for k, v in whole.items() if k != "timing"} == {k: v for k, v in results.items() if k != "timing"}


@pytest.mark.slow
def test_embedded_model_end_to_end(tmp_path, capsys, shared_benchmarks):
    # The "done when" command, made smaller for the suite's time budget (one problem, 16 tokens).
    out_dir = tmp_path / "embedded"
    args = ["eval", "--bench", "aime24", "--pass-at", "1", "--data", str(shared_benchmarks / "aime24.jsonl")]
    args += ["--limit", "1", "--max-new-tokens", "16", "--output-dir", str(out_dir)]
    code, out, err = _gnivo(args, capsys)
    assert code == 0, err
    assert "pass@1" in out
    results = json.loads((out_dir / "results.json").read_text())
    assert results["model"] == "embedded" and results["chat_template"] is True
    assert results["num_samples"] == 1 and results["tokens_generated"] > 0
    row = json.loads((out_dir / "samples.jsonl").read_text())
    assert row["gold"] == "204" and row["completion"].strip()


@pytest.mark.parametrize(
    ("device", "message"),
    [("gpu", "--device 'gpu': not a device; use cpu, cuda, cuda:N or mps"), ("cuda:99", "--device 'cuda:99': ")],
)
def test_a_mistyped_device_is_one_line_before_anything_loads(capsys, device, message):
    code, _, err = _gnivo(["eval", "--bench", "aime24", "--device", device], capsys)
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {message}")
