"""The boxed-and-correct share: per step in metrics.jsonl, its last-quarter mean in summary.json."""

from __future__ import annotations

import json

import pytest

from gnivo_cli.recipe.loader import load_recipe
from gnivo_cli.training.train import train
from rewards.base import Reward
from tests.integration.test_train import read_metrics, tiny_recipe

pytestmark = pytest.mark.slow


class CountingReward(Reward):
    """Judges call n (1, 2, 3, ...) of 4 completions as n - 1 boxed-and-correct answers, the rest boxed-wrong."""

    def __init__(self):
        super().__init__(name="counting")
        self.calls = 0
        self._pending: dict[str, float] = {}

    def __call__(self, prompts, completions, **columns):
        self.calls += 1
        right = min(self.calls - 1, len(completions))
        self._pending = {"boxed_correct": float(right), "boxed_wrong": float(len(completions) - right), "other": 7.0}
        return [1.0] * right + [0.0] * (len(completions) - right)

    def metrics(self):
        counts, self._pending = self._pending, {}
        return counts


class Plain(Reward):
    """Counts nothing about boxes: it must not dilute the share."""

    def __call__(self, prompts, completions, **columns):
        return [0.5] * len(completions)


def test_share_is_written_per_step_and_summarized(tmp_path, tiny_model_dir, monkeypatch):
    # Training loads its rewards by key; the checks before it (graded columns) load throwaway ones without.
    by_key = {"math": CountingReward(), "math#2": Plain(name="plain")}
    monkeypatch.setattr(
        "rewards.registry.load_reward",
        lambda name, params=None, key=None: by_key[key] if key else Plain(name="plain"),
    )
    path = tiny_recipe(
        tmp_path,
        tiny_model_dir,
        rewards="[{name: math}, {name: math}]",  # names that validate; the rewards themselves are swapped
        training=f"{{max_steps: 4, per_device_batch_size: 4, save_steps: 100, output_dir: '{tmp_path / 'run'}'}}",
    )
    result = train(load_recipe(path))
    rows = read_metrics(tmp_path / "run")
    assert [row["boxed_correct_share"] for row in rows] == [0.0, 0.25, 0.5, 0.75]
    assert [row["counting/boxed_correct"] for row in rows] == [0, 1, 2, 3]
    assert [row["counting/other"] for row in rows] == [7, 7, 7, 7]  # per step, not cumulative
    assert not any(key.startswith("plain/") for key in rows[0])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["final_boxed_correct_share"] == 0.75  # the last quarter of 4 steps: step 4
    assert summary["reward_counters"]["counting/boxed_correct"] == 6
    assert result.final_boxed_correct_share == 0.75


def test_no_share_without_a_reward_that_counts_boxes(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr("rewards.registry.load_reward", lambda name, params=None, **_: Plain(name="plain"))
    result = train(load_recipe(tiny_recipe(tmp_path, tiny_model_dir, rewards="[{name: math}]")))
    assert all("boxed_correct_share" not in row for row in read_metrics(tmp_path / "run"))
    assert "final_boxed_correct_share" not in json.loads((tmp_path / "run" / "summary.json").read_text())
    assert result.final_boxed_correct_share is None
