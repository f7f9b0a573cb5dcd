"""End-to-end training on a tiny model: output files, checkpoints, resume, group integrity, baselines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gnivo_cli.algorithms.table import ALGORITHMS
from gnivo_cli.errors import GnivoError
from gnivo_cli.recipe.loader import load_recipe
from gnivo_cli.training.train import train

pytestmark = pytest.mark.slow

METRIC_COLUMNS = {"step", "reward", "loss", "kl", "step_time", "frac_uniform_groups", "num_samples"}


def tiny_recipe(tmp_path: Path, model_dir: Path, **sections: str) -> Path:
    body = {
        "model": f"{{name: '{model_dir}'}}",
        "lora": "{enabled: true, r: 4, alpha: 8, dropout: 0.0}",
        "data": "{source: 'synthetic:arithmetic', synthetic: {count: 32, high: 5}, "
        "prompt_template: '{prompt} \\boxed{}'}",
        "rewards": "[{name: math}]",
        "algorithm": "{name: gnivo, num_generations: 2, alpha: 0.5, beta: 0.1}",
        "generation": "{max_new_tokens: 6}",
        "training": f"{{max_steps: 2, per_device_batch_size: 4, save_steps: 1, learning_rate: 1.0e-3, "
        f"output_dir: '{tmp_path / 'run'}'}}",
    }
    body.update(sections)
    path = tmp_path / "tiny.yaml"
    path.write_text("".join(f"{key}: {value}\n" for key, value in body.items()))
    return path


def read_metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_train_writes_metrics_checkpoints_and_a_loadable_adapter(tmp_path, tiny_model_dir):
    recipe = load_recipe(tiny_recipe(tmp_path, tiny_model_dir))
    result = train(recipe)
    run = tmp_path / "run"
    rows = read_metrics(run)
    assert [r["step"] for r in rows] == [1, 2]
    assert all(set(r) >= METRIC_COLUMNS for r in rows)
    assert all(r["kl"] is not None and r["kl"] >= 0 for r in rows)  # beta > 0: a real KL to the reference
    assert rows[-1]["num_samples"] == 8  # 2 steps x 4 completions
    assert load_recipe(run / "recipe.yaml") == recipe
    assert {p.name for p in run.glob("checkpoint-*")} == {"checkpoint-1", "checkpoint-2"}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 2 and set(summary["timings"]) == {"generation", "scoring", "loss_backward"}
    assert result.steps == 2

    from gnivo_cli.models.loading import load_causal_lm

    model = load_causal_lm(str(run))  # resolves final/, an adapter loaded onto its base model
    assert type(model).__name__ == "PeftModelForCausalLM"


def test_existing_run_needs_resume_and_resume_continues(tmp_path, tiny_model_dir):
    path = tiny_recipe(tmp_path, tiny_model_dir)
    train(load_recipe(path))
    with pytest.raises(GnivoError, match="not empty: pass --resume"):
        train(load_recipe(path))
    longer = load_recipe(path, ["training.max_steps=3"])
    train(longer, resume=True)
    rows = read_metrics(tmp_path / "run")
    assert [r["step"] for r in rows] == [1, 2, 3]
    elsewhere = load_recipe(path, [f"training.output_dir={tmp_path / 'empty'}"])
    with pytest.raises(GnivoError, match="does not exist; drop --resume"):
        train(elsewhere, resume=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GnivoError, match="holds no gnivo run"):
        train(elsewhere, resume=True)


def test_groups_stay_whole_under_gradient_accumulation(tmp_path, tiny_model_dir, monkeypatch):
    import gnivo_cli.algorithms.gnivo.trainer as trainer_module

    seen: list[torch.Tensor] = []
    real_terms = trainer_module.gnivo_loss_terms

    def spy(logps, old_logps, mask, rewards, **kwargs):
        seen.append(kwargs["group_size"])
        return real_terms(logps, old_logps, mask, rewards, **kwargs)

    original_compute = trainer_module.GNIVOTrainer._compute_loss

    def checking_compute(self, model, inputs):
        k = self.num_generations
        prompts = inputs["prompt_ids"].view(-1, k, inputs["prompt_ids"].shape[1])
        assert (prompts == prompts[:, :1]).all(), "a micro-batch split a group"
        groups_seen.append(prompts.shape[0])
        return original_compute(self, model, inputs)

    groups_seen: list[int] = []
    monkeypatch.setattr(trainer_module, "gnivo_loss_terms", spy)
    monkeypatch.setattr(trainer_module.GNIVOTrainer, "_compute_loss", checking_compute)
    path = tiny_recipe(
        tmp_path,
        tiny_model_dir,
        algorithm="{name: gnivo, num_generations: 4, alpha: 0.5}",
        training=f"{{max_steps: 2, per_device_batch_size: 8, gradient_accumulation_steps: 3, save_steps: 5, "
        f"output_dir: '{tmp_path / 'run'}'}}",
        data="{source: 'synthetic:arithmetic', synthetic: {count: 64}}",
    )
    train(load_recipe(path))
    assert groups_seen == [2] * 6  # 2 steps x 3 micro-batches, each of two whole groups of 4
    assert seen == [4] * 6


@pytest.mark.parametrize("algorithm", [name for name in ALGORITHMS if name != "gnivo"])
def test_baselines_write_the_same_metric_columns(tmp_path, tiny_model_dir, algorithm):
    path = tiny_recipe(tmp_path, tiny_model_dir, algorithm=f"{{name: {algorithm}, num_generations: 2, beta: 0.1}}")
    train(load_recipe(path, ["training.max_steps=1"]))
    (row,) = read_metrics(tmp_path / "run")
    assert set(row) >= METRIC_COLUMNS
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["algorithm"] == algorithm


def test_cli_train_end_to_end(tmp_path, tiny_model_dir):
    path = tiny_recipe(tmp_path, tiny_model_dir)
    out = tmp_path / "cli-run"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gnivo_cli",
            "train",
            str(path),
            "--output-dir",
            str(out),
            "--set",
            "training.max_steps=1",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "loss / backward" in run.stdout and "reward scoring" in run.stdout
    assert len(read_metrics(out)) == 1
    again = subprocess.run(
        [sys.executable, "-m", "gnivo_cli", "train", str(path), "--output-dir", str(out)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 1 and "not empty" in again.stderr and "Traceback" not in again.stderr
    assert len(read_metrics(out)) == 1  # nothing already written was lost


def test_a_pip_installed_third_party_reward_trains(tmp_path, tiny_model_dir):
    # The example plugin (examples/gnivo-reward-length), installed by the README's test command.
    path = tiny_recipe(
        tmp_path,
        tiny_model_dir,
        rewards="[{name: length, weight: 1.0, params: {target: 3, tolerance: 6, unit: characters}}]",
    )
    run = subprocess.run(
        [sys.executable, "-m", "gnivo_cli", "train", str(path), "--set", "training.max_steps=1"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (row,) = read_metrics(tmp_path / "run")
    assert "rewards/length/mean" in row and 0.0 <= row["rewards/length/mean"] <= 1.0


def test_a_reward_missing_its_column_stops_before_the_model_loads(tmp_path, tiny_model_dir, monkeypatch):
    import gnivo_cli.models.loading as loading
    from gnivo_cli.errors import RecipeError

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(loading, "load_causal_lm", no_model)
    path = tiny_recipe(tmp_path, tiny_model_dir, rewards="[{name: math, params: {answer_column: solution}}]")
    with pytest.raises(RecipeError) as raised:
        train(load_recipe(path))
    (line,) = str(raised.value).splitlines()
    assert line.startswith(f"{path}:4: rewards.0: reward 'math' needs the column 'solution', which data.source ")
    assert "lacks (columns: answer, id, problem, prompt)" in line
    assert not (tmp_path / "run").exists()


def test_two_entries_of_one_reward_keep_their_own_counters(tmp_path, tiny_model_dir):
    rewards = "[{name: math}, {name: math, weight: 0.5, params: {fallbacks: []}}]"
    train(load_recipe(tiny_recipe(tmp_path, tiny_model_dir, rewards=rewards)))
    run = tmp_path / "run"
    row = read_metrics(run)[-1]
    assert {"math/unparsable", "math#2/unparsable", "rewards/math/mean", "rewards/math#2/mean"} <= set(row)
    summary = json.loads((run / "summary.json").read_text())["reward_counters"]
    state = json.loads((run / "checkpoint-2" / "gnivo_state.json").read_text())["reward_counters"]
    assert set(state) == {"math", "math#2"}
    for key in ("math", "math#2"):
        assert summary[f"{key}/unparsable"] == state[key]["unparsable"]
    # Without fallbacks the second entry finds no answer wherever there is no box: at least as many as the first.
    assert state["math#2"]["unparsable"] >= state["math"]["unparsable"]
    assert state["math#2"]["fallback_answers"] == 0


def test_the_tokenizer_honours_trust_remote_code(tmp_path, tiny_model_dir, monkeypatch):
    import gnivo_cli.models.loading as loading

    calls = {}

    class Loaded(Exception):
        pass

    def model(ref, **kwargs):
        calls["model"] = kwargs
        return object()

    def tokenizer(ref, **kwargs):
        calls["tokenizer"] = kwargs
        raise Loaded

    monkeypatch.setattr(loading, "load_causal_lm", model)
    monkeypatch.setattr(loading, "load_tokenizer", tokenizer)
    path = tiny_recipe(tmp_path, tiny_model_dir, model=f"{{name: '{tiny_model_dir}', trust_remote_code: true}}")
    with pytest.raises(Loaded):
        train(load_recipe(path))
    assert calls["model"]["trust_remote_code"] is True
    assert calls["tokenizer"].get("trust_remote_code") is True
