"""Stopping on a signal: the stop waits for the end of the passes over a generated batch."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from transformers import TrainerControl, TrainerState

from gnivo_cli.training.checkpoint_state import GracefulStop, steps_per_batch
from gnivo_cli.training.train import trainer_config
from tests.unit.test_algorithms import recipe_for


def args(num_iterations=1, gradient_accumulation_steps=1, steps_per_generation=None):
    return SimpleNamespace(
        num_iterations=num_iterations,
        gradient_accumulation_steps=gradient_accumulation_steps,
        steps_per_generation=steps_per_generation,
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, 1),
        ({"num_iterations": 4}, 4),
        ({"num_iterations": 2, "gradient_accumulation_steps": 4}, 2),  # trl's default: one batch per step
        ({"num_iterations": 2, "gradient_accumulation_steps": 2, "steps_per_generation": 4}, 4),
    ],
)
def test_steps_per_batch(settings, expected):
    assert steps_per_batch(args(**settings)) == expected


def steps_until_stop(num_iterations: int, requested_at: int) -> tuple[int, bool]:
    stop = GracefulStop(SimpleNamespace(args=args(num_iterations), accelerator=None))
    state, control = TrainerState(), TrainerControl()
    for step in range(1, 20):
        state.global_step = step
        if step == requested_at:
            stop.signal = 2
        stop.on_step_end(None, state, control)
        if control.should_training_stop:
            return step, control.should_save
    raise AssertionError("never stopped")


@pytest.mark.parametrize(("num_iterations", "requested_at", "stopped_at"), [(1, 3, 3), (2, 3, 4), (4, 5, 8), (4, 8, 8)])
def test_a_stop_waits_for_the_last_pass_over_the_batch(num_iterations, requested_at, stopped_at):
    assert steps_until_stop(num_iterations, requested_at) == (stopped_at, True)


def test_checkpoints_fall_between_generated_batches(tmp_path):
    recipe = recipe_for("gnivo", num_iterations=4).with_overrides(["training.save_steps=10"])
    assert trainer_config(recipe, tmp_path, [1.0]).save_steps == 12
    aligned = recipe.with_overrides(["training.save_steps=8"])
    assert trainer_config(aligned, tmp_path, [1.0]).save_steps == 8


@pytest.mark.parametrize(("checkpoint_step", "warned"), [(4, False), (3, True)])
def test_a_resume_inside_a_batch_says_a_new_batch_is_generated(tmp_path, checkpoint_step, warned):
    from gnivo_cli.training import run_files
    from gnivo_cli.training.resume import plan_start

    run = tmp_path / "run"
    recipe = recipe_for("gnivo", num_iterations=2).with_overrides(
        [f"training.output_dir={run}", "training.max_steps=6"]
    )
    (run / f"checkpoint-{checkpoint_step}").mkdir(parents=True)
    (run / f"checkpoint-{checkpoint_step}" / run_files.CHECKPOINT_STATE_FILE).write_text("{}")
    (run / run_files.RECIPE_FILE).write_text(recipe.to_yaml())
    plan = plan_start(recipe, run, resume=True)
    assert plan.start_step == checkpoint_step
    assert any("training goes on with a new batch" in note for note in plan.notes) is warned
