"""Held-out evaluation during training: it leaves training untouched, and a stopped and resumed run neither
repeats nor skips an evaluation."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

import gnivo_cli.training.train as training
from gnivo_cli.errors import TrainingInterrupted
from gnivo_cli.recipe.loader import load_recipe
from gnivo_cli.training import run_files
from gnivo_cli.training.callbacks import WALL_CLOCK_COLUMNS

sys.path.insert(0, str(Path(__file__).parent))
from test_tracking import LENGTH, held_out_file
from test_train import tiny_recipe

pytestmark = pytest.mark.slow

#: Sampling and a sampled prefix point: training draws from the global random stream (generation) and from
#: the trainer's own generator, so an evaluation that moved either would change the weights.
RANDOM = {
    "lora": "{enabled: true, r: 4, alpha: 8}",
    "algorithm": "{name: gnivo, num_generations: 2, alpha: 0.5, beta: 0.1, prefix: sample}",
    "rewards": LENGTH,
}


def _recipe(tmp_path: Path, model_dir: Path, name: str, training_keys: str, *overrides: str):
    folder = tmp_path / name
    folder.mkdir()
    body = (
        f"{{max_steps: 4, per_device_batch_size: 4, save_steps: 2, learning_rate: 0.05, "
        f"output_dir: '{folder / 'run'}'{', ' + training_keys if training_keys else ''}}}"
    )
    return load_recipe(tiny_recipe(folder, model_dir, training=body, **RANDOM), list(overrides))


def _held_out(tmp_path: Path) -> str:
    return f"eval: {{bench: gsm8k, data: '{held_out_file(tmp_path)}', every: 2, limit: 2, pass_at: [1, 2]}}"


def _comparable(run: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK_COLUMNS} for row in run_files.read_metrics(run)]


def test_a_run_with_held_out_evaluation_trains_the_same_weights(tmp_path, tiny_model_dir):
    plain = training.train(_recipe(tmp_path, tiny_model_dir, "plain", ""))
    evaluated = training.train(_recipe(tmp_path, tiny_model_dir, "evaluated", _held_out(tmp_path)))
    assert [row["step"] for row in run_files.read_rows(evaluated.output_dir / run_files.EVAL_FILE)] == [0, 2, 4]
    weights = [load_file(run.output_dir / "final" / "adapter_model.safetensors") for run in (plain, evaluated)]
    assert weights[0].keys() == weights[1].keys()
    changed = [name for name in weights[0] if not torch.equal(weights[0][name], weights[1][name])]
    assert not changed, f"held-out evaluation changed the trained weights: {changed[:3]}"
    assert _comparable(plain.output_dir) == _comparable(evaluated.output_dir)
    assert plain.final_reward == evaluated.final_reward
    assert "eval" not in plain.timings and evaluated.timings["eval"] > 0


class StopAt(TrainerCallback):
    """Sends this process SIGINT as step `step` ends (its loss and update done), as Ctrl-C would: gnivo saves
    that step and stops. (A Ctrl-C while a step generates drops that step instead: tests/integration/
    test_stopping.py.)"""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def test_a_stopped_and_resumed_run_neither_repeats_nor_skips_an_evaluation(tmp_path, tiny_model_dir, monkeypatch):
    keys = _held_out(tmp_path) + ", log_completions: true"
    whole = training.train(_recipe(tmp_path, tiny_model_dir, "whole", keys, "training.max_steps=6"))
    recipe = _recipe(tmp_path, tiny_model_dir, "stopped", keys, "training.max_steps=6")
    build = training.build_trainer

    def stopping_at_3(*args, **kwargs):
        trainer, metrics = build(*args, **kwargs)
        trainer.add_callback(StopAt(3))
        return trainer, metrics

    monkeypatch.setattr(training, "build_trainer", stopping_at_3)
    with pytest.raises(TrainingInterrupted):
        training.train(recipe)
    monkeypatch.setattr(training, "build_trainer", build)
    run = Path(recipe.training.output_dir)
    assert [row["step"] for row in run_files.read_rows(run / run_files.EVAL_FILE)] == [0, 2]
    assert run_files.latest_checkpoint(run).name == "checkpoint-3"
    # a crash after the next evaluation but before its checkpoint: resuming must cut it and do it again
    with (run / run_files.EVAL_FILE).open("a") as handle:
        handle.write('{"step": 4, "benchmark": "gsm8k", "pass@1": 9.0}\n')
    run_files.eval_dir(run, 4).mkdir()

    training.train(recipe, resume=True)
    evaluations = run_files.read_rows(run / run_files.EVAL_FILE)
    expected = run_files.read_rows(whole.output_dir / run_files.EVAL_FILE)
    assert [row["step"] for row in evaluations] == [row["step"] for row in expected] == [0, 2, 4, 6]
    volatile = {"seconds", "time"}
    assert [{k: v for k, v in row.items() if k not in volatile} for row in evaluations] == [
        {k: v for k, v in row.items() if k not in volatile} for row in expected
    ]
    assert sorted(p.name for p in (run / run_files.EVAL_DIR).iterdir()) == ["step-0", "step-2", "step-4", "step-6"]
    assert _comparable(run) == _comparable(whole.output_dir)
    completions = run_files.read_rows(run / run_files.COMPLETIONS_FILE)
    assert completions == run_files.read_rows(whole.output_dir / run_files.COMPLETIONS_FILE)
