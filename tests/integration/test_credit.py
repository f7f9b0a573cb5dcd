"""The credit benchmark's recipe trains one step through the real trainer, and its checkpoints score exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.credit import VARIANTS
from benchmarks.credit_model import build_model, build_tokenizer, pretrain
from benchmarks.credit_runs import evaluate_run
from gnivo_cli.compare.plan import run_recipe_dict
from gnivo_cli.recipe.loader import load_recipe, recipe_from_dict
from gnivo_cli.training.train import train

pytestmark = pytest.mark.slow

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "credit.yaml"


@pytest.fixture(scope="module")
def steps_model_dir(tmp_path_factory) -> Path:
    """One-step completions, pretrained enough to be well formed (a random model scores 0: no signal)."""
    tokenizer = build_tokenizer()
    path = tmp_path_factory.mktemp("steps-model")
    model = build_model(tokenizer, seed=0)
    pretrain(model, tokenizer, 40, seed=0, batch=16, lr=1e-2, n_steps=1)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.mark.parametrize("variant", ["gnivo-all-step", "grpo", "grpo-noclip"])
def test_one_step_of_the_credit_recipe_trains_and_is_scored_exactly(tmp_path, steps_model_dir, variant):
    algorithm, overrides = VARIANTS[variant]
    run = tmp_path / "run"
    base = load_recipe(
        RECIPE,
        [
            *overrides,
            f"model.name={steps_model_dir}",
            "data.synthetic.steps=1",
            "training.max_steps=1",
            "training.warmup_steps=0",  # a warm-up would start the one step at learning rate 0
            "training.lr_scheduler=constant",
            "training.per_device_batch_size=8",
            "training.save_steps=1",
        ],
    )
    # As benchmarks/credit.py (and gnivo compare) do: each algorithm keeps only the keys it owns.
    recipe = recipe_from_dict(run_recipe_dict(base, algorithm, 0, run))
    assert recipe.data.source == "synthetic:steps" and recipe.rewards[0].name == "steps"
    train(recipe)
    assert json.loads((run / "summary.json").read_text())["samples_generated"] == 8
    rewards = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])["reward"]
    assert 0 < rewards < 1  # some completions right, some wrong: the step had a signal
    curve = evaluate_run(run, steps_model_dir, alpha=base.algorithm.alpha)
    assert [samples for samples, _ in curve["points"]] == [0, 8]
    before, after = (values for _, values in curve["points"])
    assert before["kl_to_reference"] == 0 and after["kl_to_reference"] > 0  # the step moved the policy
    assert (run / "credit_eval.json").is_file()
