"""Experiment trackers for real, offline: TensorBoard's event files and trackio's local store read back with
their own readers; a tracker named but not installed refused before the model loads; one that cannot reach
its server does not lose the run. Also completions.jsonl, read back by `gnivo score`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gnivo_cli.recipe.loader import load_recipe
from gnivo_cli.training import run_files
from gnivo_cli.training.train import train

sys.path.insert(0, str(Path(__file__).parent))
from test_train import tiny_recipe

pytestmark = pytest.mark.slow

#: A reward with signal on a random tiny model (the math reward is 0 everywhere there).
LENGTH = "[{name: length, params: {target: 3, tolerance: 3}}, {name: math, weight: 0.5}]"


def held_out_file(folder: Path) -> Path:
    """Three GSM8K-shaped problems: a held-out set no test needs to download."""
    rows = [
        {"question": f"What is {a} + {b}?", "answer": f"{a} + {b} = {a + b}\n#### {a + b}"}
        for a, b in [(1, 2), (3, 4), (2, 2)]
    ]
    path = folder / "held_out.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def tracked_recipe(tmp_path: Path, model_dir: Path, name: str, training: str, **sections: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    data = held_out_file(folder)
    body = (
        "{max_steps: 3, per_device_batch_size: 4, save_steps: 3, learning_rate: 0.05, "
        f"output_dir: '{folder / 'run'}', "
        f"eval: {{bench: gsm8k, data: '{data}', every: 2, limit: 2, pass_at: [1, 2]}}, {training}}}"
    )
    return tiny_recipe(folder, model_dir, rewards=LENGTH, training=body, **sections)


def test_tensorboard_receives_gnivos_own_numbers_and_the_held_out_scores(tmp_path, tiny_model_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    recipe = load_recipe(
        tracked_recipe(tmp_path, tiny_model_dir, "tb", "report_to: tensorboard, log_completions: true")
    )
    result = train(recipe)
    run = result.output_dir
    events = EventAccumulator(str(run / run_files.TENSORBOARD_DIR))
    events.Reload()

    def steps(tag: str) -> list[int]:
        return [event.step for event in events.Scalars(tag)]

    def values(tag: str) -> list[float]:
        return [event.value for event in events.Scalars(tag)]

    metrics = run_files.read_metrics(run)
    assert steps("train/reward") == [1, 2, 3]  # trl's own
    assert values("train/reward") == pytest.approx([row["reward"] for row in metrics])
    for column in ("gnivo/cross_entropy", "math/unparsable", "boxed_correct_share", "num_samples", "generation_time"):
        assert column in metrics[-1]
        assert values(f"train/{column}") == pytest.approx([row[column] for row in metrics]), column
    # the held-out evaluations: before the first step, every 2 steps, after the last
    held_out = run_files.read_rows(run / run_files.EVAL_FILE)
    assert [row["step"] for row in held_out] == [0, 2, 3]
    assert steps("eval/gsm8k/pass@1") == [0, 2, 3]
    assert values("eval/gsm8k/pass@2") == pytest.approx([row["pass@2"] for row in held_out])
    for row in held_out:
        assert (run_files.eval_dir(run, row["step"]) / "results.json").is_file()
    assert result.timings["eval"] == pytest.approx(sum(row["seconds"] for row in held_out), rel=0.05)

    completions = run_files.read_rows(run / run_files.COMPLETIONS_FILE)
    assert [row["step"] for row in completions] == [1] * 4 + [2] * 4 + [3] * 4
    first = completions[0]
    assert list(first)[:8] == ["step", "prompt", "completion", "reward", "rewards", "weight", "group", "id"]
    assert first["prompt"][-1]["role"] == "user" and first["completion"][0]["role"] == "assistant"
    assert {"answer", "problem"} <= set(first)  # the data row's columns
    for row in completions:
        length, correct = row["rewards"]["length"], row["rewards"]["math"]
        assert row["reward"] == pytest.approx(length + 0.5 * correct)
    for step in (1, 2, 3):
        rows = [row for row in completions if row["step"] == step]
        assert [row["group"] for row in rows] == [0, 0, 1, 1]
        for group in (0, 1):
            weights = [row["weight"] for row in rows if row["group"] == group]
            assert sum(weights) == pytest.approx(1.0)  # softmax(R / alpha) within the group
    # the weights are the loss's: a higher reward gets a higher weight within its group
    pairs = [(a, b) for a, b in zip(completions[::2], completions[1::2], strict=True) if a["reward"] != b["reward"]]
    assert pairs, "no group with unequal rewards: the test cannot see the weights"
    assert all((a["weight"] > b["weight"]) == (a["reward"] > b["reward"]) for a, b in pairs)

    # `gnivo score` reads the file as it is
    scored = tmp_path / "scored.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gnivo_cli",
            "score",
            str(run / run_files.COMPLETIONS_FILE),
            "--reward",
            "length",
            "--param",
            "target=3",
            "--param",
            "tolerance=3",
            "-o",
            str(scored),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rescored = [json.loads(line) for line in scored.read_text().splitlines()]
    assert [row["reward"] for row in rescored] == pytest.approx([row["rewards"]["length"] for row in completions])


def test_trackio_logs_to_its_local_store_offline(tmp_path, tiny_model_dir):
    """A subprocess in a network namespace of its own (no network at all) where the machine allows one."""
    store = tmp_path / "trackio-store"
    path = tracked_recipe(
        tmp_path, tiny_model_dir, "trackio", "report_to: [trackio], project: gnivo-test, run_name: tiny"
    )
    env = {**os.environ, "TRACKIO_DIR": str(store), "COLUMNS": "160"}
    command = [sys.executable, "-m", "gnivo_cli", "train", str(path)]
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        command = ["unshare", "-n", *command]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    reader = (
        "import json; from trackio.sqlite_storage import SQLiteStorage as S; "
        "print(json.dumps({'runs': S.get_runs('gnivo-test'), 'logs': S.get_logs('gnivo-test', 'tiny')}))"
    )
    read = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True, env=env, timeout=120)
    assert read.returncode == 0, read.stderr[-2000:]
    stored = json.loads(read.stdout.strip().splitlines()[-1])
    assert stored["runs"] == ["tiny"]
    logs = stored["logs"]
    metrics = run_files.read_metrics(tmp_path / "trackio" / "run")
    trained = [row for row in logs if "train/reward" in row]
    assert [row["train/reward"] for row in trained] == pytest.approx([row["reward"] for row in metrics])
    assert [row["train/boxed_correct_share"] for row in trained] == pytest.approx(
        [row["boxed_correct_share"] for row in metrics]
    )
    evaluated = [row for row in logs if "eval/gsm8k/pass@1" in row]
    held_out = run_files.read_rows(tmp_path / "trackio" / "run" / run_files.EVAL_FILE)
    assert [row["eval/gsm8k/pass@1"] for row in evaluated] == pytest.approx([row["pass@1"] for row in held_out])
    assert len(evaluated) == 3


def test_a_tracker_that_is_not_installed_is_refused_before_the_model_loads(tmp_path, tiny_model_dir):
    path = tiny_recipe(
        tmp_path, tiny_model_dir, training=f"{{report_to: [tensorboard, comet_ml], output_dir: '{tmp_path / 'run'}'}}"
    )
    env = {**os.environ, "COLUMNS": "300"}
    done = subprocess.run(
        [sys.executable, "-m", "gnivo_cli", "train", str(path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    line = next(iter(errors), "")
    assert f"{path}:" in line and "training.report_to: comet_ml is not installed: pip install comet_ml" in line, (
        done.stderr
    )
    assert "Traceback" not in done.stderr and len(errors) == 1
    assert not (tmp_path / "run").exists()


def test_a_tracker_that_cannot_reach_its_server_does_not_lose_the_run(tmp_path, tiny_model_dir, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    path = tiny_recipe(
        tmp_path,
        tiny_model_dir,
        rewards=LENGTH,
        training=f"{{max_steps: 2, per_device_batch_size: 4, report_to: mlflow, output_dir: '{tmp_path / 'run'}'}}",
    )
    with pytest.warns(UserWarning, match=r"tracker mlflow failed \(MlflowException: .*\): it is switched off"):
        result = train(load_recipe(path))
    assert result.steps == 2
    assert [row["step"] for row in run_files.read_metrics(result.output_dir)] == [1, 2]
    assert (result.output_dir / run_files.SUMMARY_FILE).is_file()
