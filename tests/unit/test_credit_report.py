"""benchmarks/credit.py's report and manifest, on made-up exact curves (no model)."""

from __future__ import annotations

import json

import pytest

from benchmarks import credit_report as report
from benchmarks.credit import write_manifest
from benchmarks.credit_model import build_tokenizer, prompt_ids
from gnivo_cli.compare.plan import plan_runs
from gnivo_cli.recipe.loader import load_recipe
from tests.compare_helpers import write_recipe


def point(reward: float) -> dict:
    return {
        "expected_reward": reward,
        "first_step_right": reward,
        "first_step_right_min": reward / 2,
        "kl_to_optimum": 1 - reward,
        "kl_to_reference": reward,
        "leak": 0.01,
    }


def curves(rewards_by_seed: dict[int, list[float]]) -> list[dict]:
    return [
        {"seed": seed, "samples_per_step": 100, "points": [(100.0 * i, point(r)) for i, r in enumerate(rewards)]}
        for seed, rewards in rewards_by_seed.items()
    ]


def variant(name: str, rewards_by_seed, thresholds=(0.5, 0.9)):
    return report.Variant(name, 1e-3, report.seed_runs(curves(rewards_by_seed)), list(thresholds))


def test_auc_and_per_seed_samples_to_threshold():
    v = variant("gnivo-final", {0: [0.0, 0.4, 0.8, 1.0], 1: [0.0, 0.6, 0.6, 0.6]})
    assert v.per_seed("auc")[0] == pytest.approx((0.2 + 0.6 + 0.9) / 3)  # trapezoid over 300 samples
    assert v.to_threshold[0] == {0: pytest.approx(125.0), 1: pytest.approx(100 * 0.5 / 0.6)}
    assert v.to_threshold[1] == {0: pytest.approx(250.0), 1: None}  # seed 1 never reaches 0.9


def test_thresholds_are_fixed_by_the_task():
    reference = {"reference": {"expected_reward": 0.1}, "optimum": {"expected_reward": 0.5}}
    assert [value for _, value in report.thresholds_of(reference)] == [pytest.approx(0.3), 0.5]


def test_differences_are_paired_by_seed_and_say_level_when_the_interval_holds_zero(capsys):
    grpo = variant("grpo", {0: [0, 0.5, 0.7], 1: [0, 0.4, 0.6], 2: [0, 0.6, 0.8]})
    ahead = variant("gnivo-final", {0: [0, 0.6, 0.8], 1: [0, 0.5, 0.72], 2: [0, 0.7, 0.91]})
    level = variant("rloo", {0: [0, 0.6, 0.9], 1: [0, 0.3, 0.5], 2: [0, 0.6, 0.8]})
    report.print_differences([grpo, ahead, level], "grpo")
    rows = {line.split(" | ")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "+0.110 [" in rows["| gnivo-final"] and "] ahead" in rows["| gnivo-final"].split(" | ")[1]
    assert rows["| rloo"].split(" | ")[1].endswith("level")


def test_the_manifest_lists_every_reported_run_with_its_rate_and_final_model(tmp_path):
    base = load_recipe(write_recipe(tmp_path))
    plans = {"gnivo-final": plan_runs(base, ["gnivo"], [0, 1], tmp_path / "grid" / "gnivo-final")}
    reference = {"reference": {"expected_reward": 0.1}, "optimum": {"expected_reward": 0.5}}
    write_manifest(tmp_path / "manifest.json", plans, {"gnivo-final": 3e-4}, tmp_path / "model", reference, base)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [(r["method"], r["algorithm"], r["seed"]) for r in manifest["runs"]] == [
        ("gnivo-final", "gnivo", 0),
        ("gnivo-final", "gnivo", 1),
    ]
    first = manifest["runs"][0]
    assert first["learning_rate"] == 3e-4 and first["final_model"].endswith("gnivo-final/gnivo/seed-0/final")
    assert first["finished"] is False and manifest["alpha"] == base.algorithm.alpha
    assert manifest["reference_model"] == str((tmp_path / "model").resolve())


def test_the_say_prompt_differs_from_the_key_prompt_in_its_word_only():
    tokenizer = build_tokenizer()
    key, say = prompt_ids(tokenizer, "ab"), prompt_ids(tokenizer, "ab", say=True)
    assert len(key) == len(say)  # one tensor for both kinds of pretraining rows
    assert tokenizer.decode(say) == tokenizer.decode(key).replace("key ab", "say ab") != tokenizer.decode(key)
