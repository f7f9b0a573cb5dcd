"""Two CPU processes (gloo) under accelerate: whole groups, identical weights, one writer, resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gnivo_cli.training import run_files
from gnivo_cli.training.launch import accelerate_command, launch_environment

sys.path.insert(0, str(Path(__file__).parent))
from test_tracking import held_out_file
from test_train import tiny_recipe

pytestmark = pytest.mark.slow

PROBE = Path(__file__).parent / "multiprocess" / "probe_train.py"


def _launch(recipe: Path, probe_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    command = accelerate_command([], num_processes=2, config_file=None, cpu=True)
    command = [*command[: command.index("-m", 3)], str(PROBE), str(recipe), str(probe_dir), *extra]
    env = {**launch_environment(cpu=True), "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def _reports(probe_dir: Path) -> list[dict]:
    return [json.loads((probe_dir / f"rank-{rank}.json").read_text()) for rank in (0, 1)]


def test_two_processes_train_whole_groups_to_identical_weights_and_resume(tmp_path, tiny_model_dir):
    recipe = tiny_recipe(
        tmp_path,
        tiny_model_dir,
        rewards="[{name: length, params: {target: 3, tolerance: 3}}]",
        algorithm="{name: gnivo, num_generations: 2, alpha: 0.5, beta: 0.1}",
    )
    run = tmp_path / "run"
    held_out = f"training.eval={{bench: gsm8k, data: '{held_out_file(tmp_path)}', every: 2, limit: 3}}"
    extra = ["training.max_steps=2", "training.learning_rate=0.05", "training.log_completions=true", held_out]
    finished = _launch(recipe, tmp_path / "first", *extra)
    assert finished.returncode == 0, finished.stderr[-3000:]
    first = _reports(tmp_path / "first")
    assert {r["world"] for r in first} == {2}
    assert first[0]["digest"] == first[1]["digest"]  # DDP kept the ranks in step
    calls = [call for report in first for call in report["loss_calls"]]
    assert len(calls) >= 4 and all(call["whole_groups"] for call in calls)
    assert [row["step"] for row in run_files.read_metrics(run)] == [1, 2]  # one writer
    assert run_files.read_metrics(run)[-1]["num_samples"] == 2 * 2 * 4  # steps x processes x per-process batch
    assert json.loads((run / run_files.SUMMARY_FILE).read_text())["samples_generated"] == 16
    assert [r["samples_scored"] for r in first] == [[16], [16]]  # each rank holds the whole run's counts
    # one completions.jsonl: every process's rows, gathered, written once, whole groups in order
    completions = run_files.read_rows(run / run_files.COMPLETIONS_FILE)
    assert [row["step"] for row in completions] == [1] * 8 + [2] * 8
    assert [row["group"] for row in completions[:8]] == [0, 0, 1, 1, 2, 2, 3, 3]
    for group in range(4):
        rows = [row for row in completions[:8] if row["group"] == group]
        assert rows[0]["prompt"] == rows[1]["prompt"] and sum(row["weight"] for row in rows) == pytest.approx(1)
    # one eval.jsonl: the problems shared out between the processes, the scores of all of them
    evaluations = run_files.read_rows(run / run_files.EVAL_FILE)
    assert [row["step"] for row in evaluations] == [0, 2] and {row["num_problems"] for row in evaluations} == {3}
    samples = (run_files.eval_dir(run, 2) / "samples.jsonl").read_text().splitlines()
    assert len(samples) == 3 and not list(run_files.eval_dir(run, 2).glob("samples.rank-*"))

    resumed = _launch(recipe, tmp_path / "second", "--resume", "training.max_steps=3", *extra[1:])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    second = _reports(tmp_path / "second")
    assert second[0]["digest"] == second[1]["digest"] != first[0]["digest"]
    assert [row["step"] for row in run_files.read_metrics(run)] == [1, 2, 3]
    assert json.loads((run / run_files.SUMMARY_FILE).read_text())["samples_generated"] == 24
    assert [row["step"] for row in run_files.read_rows(run / run_files.EVAL_FILE)] == [0, 2, 3]
    assert [row["step"] for row in run_files.read_rows(run / run_files.COMPLETIONS_FILE)][-8:] == [3] * 8


def test_num_processes_builds_the_accelerate_command(tmp_path):
    command = accelerate_command(["train", "r.yaml"], num_processes=2, config_file=None, cpu=True)
    assert command[1:3] == ["-m", "accelerate.commands.launch"]
    assert command[command.index("--num_processes") + 1] == "2" and "--multi_gpu" in command
    assert command[-4:] == ["-m", "gnivo_cli", "train", "r.yaml"]
    config = tmp_path / "zero2.yaml"
    config.write_text("distributed_type: DEEPSPEED\n")
    with_config = accelerate_command(["train", "r.yaml"], num_processes=None, config_file=config, cpu=True)
    assert with_config[with_config.index("--config_file") + 1] == str(config) and "--multi_gpu" not in with_config
