"""The recipe keys around a run (trackers, held-out evaluation) are validated like every other key, and the
pieces that guard a run (a failing tracker, the random streams around an evaluation) do their job."""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from transformers import TrainerCallback

from gnivo_cli.errors import RecipeError
from gnivo_cli.evaluation.settings import EvalSettings
from gnivo_cli.recipe.loader import load_recipe
from gnivo_cli.recipe.sections import TRACKERS, HeldOutEvalSection
from gnivo_cli.training.held_out import preserved_random_state, tracker_values
from gnivo_cli.training.trackers import GuardedTracker, tracker_names, warn_user

BASE = "rewards: [{name: math}]\ntraining: {%s}\n"


def _load(tmp_path, training: str):
    path = tmp_path / "r.yaml"
    path.write_text(BASE % training)
    return load_recipe(path)


def _errors(tmp_path, training: str) -> str:
    with pytest.raises(RecipeError) as caught:
        _load(tmp_path, training)
    return str(caught.value)


def test_the_tracker_names_are_transformers_own():
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

    assert set(TRACKERS) == set(INTEGRATION_TO_CALLBACK)


def test_report_to_takes_a_name_or_a_list_and_refuses_unknown_names(tmp_path):
    assert _load(tmp_path, "report_to: tensorboard").training.report_to == "tensorboard"
    assert _load(tmp_path, "report_to: [tensorboard, trackio]").training.report_to == ["tensorboard", "trackio"]
    assert _load(tmp_path, "").training.report_to == "none"
    assert tracker_names("none") == [] and tracker_names(["wandb", "mlflow"]) == ["wandb", "mlflow"]
    message = _errors(tmp_path, "report_to: tensorbord")
    assert "r.yaml:2: training.report_to: unknown tracker 'tensorbord'; did you mean 'tensorboard'?" in message
    assert "stand alone" in _errors(tmp_path, "report_to: [none, wandb]")
    assert "must be" in _errors(tmp_path, "report_to: 3")


def test_training_eval_is_checked_like_every_recipe_key(tmp_path):
    data = tmp_path / "gsm8k_test.jsonl"
    data.write_text('{"question": "1 + 1?", "answer": "#### 2"}\n')
    section = _load(tmp_path, f"eval: {{data: '{data}', every: 5, pass_at: [1, 4]}}").training.eval
    assert section == HeldOutEvalSection(data=str(data), every=5, pass_at=[1, 4])
    assert _load(tmp_path, "eval: gsm8k").training.eval == HeldOutEvalSection(bench="gsm8k")  # the shorthand
    assert _load(tmp_path, f"eval: '{data}'").training.eval.data == str(data)
    assert "training.eval.bench: unknown benchmark 'gsm8" in _errors(tmp_path, "eval: {bench: gsm8}")
    assert "training.eval.every: must be >= 1, got 0" in _errors(tmp_path, "eval: {bench: gsm8k, every: 0}")
    assert "training.eval.samples: must be at least the largest pass_at (4)" in _errors(
        tmp_path, "eval: {bench: gsm8k, pass_at: [1, 4], samples: 2}"
    )
    assert "training.eval.evry: unknown key; did you mean 'every'?" in _errors(
        tmp_path, "eval: {bench: gsm8k, evry: 2}"
    )
    other = tmp_path / "held.jsonl"
    other.write_text("{}\n")
    assert "no built-in benchmark's file" in _errors(tmp_path, f"eval: {{data: '{other}'}}")
    assert "training.eval.data:" in _errors(tmp_path, f"eval: {{bench: gsm8k, data: '{tmp_path / 'missing.jsonl'}'}}")
    assert "training.eval: must be a mapping or null" in _errors(tmp_path, "eval: 3")


def test_held_out_sampling_defaults_are_gnivo_evals():
    section = HeldOutEvalSection()
    assert (section.temperature, section.top_p) == (EvalSettings.temperature, EvalSettings.top_p)


def test_held_out_scores_reach_the_trackers_under_eval():
    row = {"step": 4, "benchmark": "gsm8k", "pass@1": 0.5, "avg@2": 0.25, "seconds": 1.5, "time": 0.0}
    assert tracker_values(row) == {"eval_gsm8k/pass@1": 0.5, "eval_gsm8k/avg@2": 0.25, "eval_gsm8k/seconds": 1.5}


class Exploding(TrainerCallback):
    def __init__(self):
        self.logged = 0

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.logged += 1
        if self.logged == 2:
            raise ConnectionError("server unreachable\nmore detail")


def test_a_failing_tracker_is_switched_off_with_one_warning():
    inner = Exploding()
    messages: list[str] = []
    guarded = GuardedTracker(inner, "fake", messages.append)
    state = SimpleNamespace(is_world_process_zero=True)
    for _ in range(4):
        assert guarded.on_log(None, state, None, logs={"loss": 1.0}) is None
    guarded.on_train_end(None, state, None)
    assert inner.logged == 2  # off after the failure: not called again
    assert messages == [
        "tracker fake failed (ConnectionError: server unreachable): it is switched off and training goes on; "
        "metrics.jsonl keeps every value"
    ]
    with pytest.warns(UserWarning, match="tracker library failed"):  # library callers without a console
        quiet = GuardedTracker(Exploding(), "library", warn_user)
        for _ in range(3):
            quiet.on_log(None, state, None, logs={})


def test_random_streams_are_put_back_after_an_evaluation():
    torch.manual_seed(1)
    random.seed(1)
    np.random.seed(1)
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.manual_seed(1)
    random.seed(1)
    np.random.seed(1)
    with preserved_random_state():
        torch.rand(100), random.random(), np.random.rand(7)
    after = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(after[0], expected[0]) and after[1:] == expected[1:]
