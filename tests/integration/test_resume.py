"""Resume that can be trusted: same steps, counters and recipe as an uninterrupted run; interrupts that save."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gnivo_cli.errors import GnivoError
from gnivo_cli.recipe.loader import load_recipe
from gnivo_cli.training import run_files
from gnivo_cli.training.callbacks import WALL_CLOCK_COLUMNS
from gnivo_cli.training.train import train

sys.path.insert(0, str(Path(__file__).parent))
from test_train import tiny_recipe

pytestmark = pytest.mark.slow

#: A reward with signal on a random tiny model (the math reward is 0 everywhere there), and a sampled
#: prefix point: the trainer's private generator decides which prefix each step trains.
LEARNING = {
    "rewards": "[{name: length, params: {target: 3, tolerance: 3}}]",
    "algorithm": "{name: gnivo, num_generations: 2, alpha: 0.5, beta: 0.1, prefix: sample}",
}
#: Wall-clock and memory readings legitimately differ between two runs.
_VOLATILE = WALL_CLOCK_COLUMNS


def _recipe(tmp_path: Path, model_dir: Path, name: str, *overrides: str):
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    path = tiny_recipe(folder, model_dir, **LEARNING)
    return path, load_recipe(path, ["training.learning_rate=0.05", *overrides])


def _comparable(run: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in _VOLATILE} for row in run_files.read_metrics(run)]


def _unfinish(run: Path, keep_step: int) -> None:
    """Make a finished run look killed just after checkpoint-`keep_step` was saved."""
    (run / run_files.SUMMARY_FILE).unlink()
    shutil.rmtree(run / run_files.FINAL_DIR)
    for checkpoint in run_files.checkpoints(run):
        if run_files.checkpoint_step(checkpoint) > keep_step:
            shutil.rmtree(checkpoint)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tiny_model_dir) -> Path:
    tmp_path = tmp_path_factory.mktemp("whole")
    _, recipe = _recipe(tmp_path, tiny_model_dir, "a", "training.max_steps=6", "training.save_steps=3")
    train(recipe)
    return Path(recipe.training.output_dir)


def test_a_resumed_run_repeats_the_uninterrupted_one_exactly(tmp_path, tiny_model_dir, uninterrupted):
    _, first = _recipe(tmp_path, tiny_model_dir, "b", "training.max_steps=3", "training.save_steps=3")
    train(first)
    run = Path(first.training.output_dir)
    _unfinish(run, keep_step=3)
    train(first.with_overrides(["training.max_steps=6"]), resume=True)
    assert _comparable(run) == _comparable(uninterrupted)
    whole = json.loads((uninterrupted / run_files.SUMMARY_FILE).read_text())
    resumed = json.loads((run / run_files.SUMMARY_FILE).read_text())
    assert resumed["samples_generated"] == whole["samples_generated"] == 6 * 4
    assert resumed["tokens_generated"] == whole["tokens_generated"]
    (row,) = [json.loads(line) for line in (run / run_files.RESUMES_FILE).read_text().splitlines()]
    assert row["from_step"] == 3
    assert row["changes"] == {"training.max_steps": {"from": 3, "to": 6}}
    assert load_recipe(run / run_files.RECIPE_FILE).training.max_steps == 6


def test_a_torn_metrics_line_and_a_half_written_checkpoint_are_survived(tmp_path, tiny_model_dir, uninterrupted):
    _, recipe = _recipe(tmp_path, tiny_model_dir, "c", "training.max_steps=6", "training.save_steps=3")
    train(recipe)
    run = Path(recipe.training.output_dir)
    _unfinish(run, keep_step=6)
    (run / "checkpoint-6" / run_files.CHECKPOINT_STATE_FILE).unlink()  # killed while saving checkpoint-6
    with (run / run_files.METRICS_FILE).open("a") as handle:
        handle.write('{"step": 7, "rew')  # killed mid-write
    train(recipe, resume=True)
    assert _comparable(run) == _comparable(uninterrupted)  # steps 4-6 redone from checkpoint-3, identically
    assert run_files.is_complete_checkpoint(run / "checkpoint-6")


def test_a_resume_that_changes_the_experiment_is_refused(tmp_path, tiny_model_dir):
    _, recipe = _recipe(tmp_path, tiny_model_dir, "d", "training.max_steps=2")
    train(recipe)
    run = Path(recipe.training.output_dir)
    before = (run / run_files.RECIPE_FILE).read_text()
    with pytest.raises(GnivoError, match=r"algorithm.alpha \(0.5 -> 5.0\)"):
        train(recipe.with_overrides(["algorithm.alpha=5.0"]), resume=True)
    with pytest.raises(GnivoError, match=r"training\.learning_rate"):
        train(recipe.with_overrides(["training.learning_rate=0.1"]), resume=True)
    (tmp_path / "rloo").mkdir()
    rloo = tiny_recipe(tmp_path / "rloo", tiny_model_dir, algorithm="{name: rloo, num_generations: 2, beta: 0.1}")
    with pytest.raises(GnivoError, match=r"algorithm.name \('gnivo' -> 'rloo'\)"):
        train(load_recipe(rloo, [f"training.output_dir={run}"]), resume=True)
    assert (run / run_files.RECIPE_FILE).read_text() == before  # the record is untouched


def test_a_finished_run_says_so_and_trains_nothing(tmp_path, tiny_model_dir):
    _, recipe = _recipe(tmp_path, tiny_model_dir, "e", "training.max_steps=2")
    train(recipe)
    run = Path(recipe.training.output_dir)
    summary = (run / run_files.SUMMARY_FILE).read_text()
    for steps in (2, 1):
        result = train(recipe.with_overrides([f"training.max_steps={steps}"]), resume=True)
        assert result.already_finished and result.steps == 2
    assert (run / run_files.SUMMARY_FILE).read_text() == summary
    assert [row["step"] for row in run_files.read_metrics(run)] == [1, 2]


def test_max_steps_below_the_reached_step_is_refused(tmp_path, tiny_model_dir):
    _, recipe = _recipe(tmp_path, tiny_model_dir, "f", "training.max_steps=3", "training.save_steps=1")
    train(recipe)
    run = Path(recipe.training.output_dir)
    _unfinish(run, keep_step=3)
    with pytest.raises(GnivoError, match=r"max_steps \(2\) is below step 3"):
        train(recipe.with_overrides(["training.max_steps=2"]), resume=True)


def test_a_failed_start_leaves_nothing_behind(tmp_path, tiny_model_dir):
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "config.json").write_text("{not json")
    _, recipe = _recipe(tmp_path, broken, "g", "training.max_steps=1")
    with pytest.raises(Exception):  # noqa: B017 - any load failure will do
        train(recipe)
    assert not Path(recipe.training.output_dir).exists()
    # A start that died after writing its recipe but before a step also blocks nothing.
    run = Path(recipe.training.output_dir)
    run.mkdir()
    (run / run_files.RECIPE_FILE).write_text(run_files.recipe_text("model: {}\n"))
    _, good = _recipe(tmp_path, tiny_model_dir, "g", "training.max_steps=1")
    assert train(good).steps == 1


@pytest.mark.parametrize("written", ["# my own recipe\nmodel: {name: x}\n", "edited"])
def test_a_recipe_gnivo_did_not_write_is_never_overwritten(tmp_path, written):
    from gnivo_cli.training.resume import plan_start

    run = tmp_path / "run"
    run.mkdir()
    text = run_files.recipe_text("model: {}\n") + "# a line added by hand\n" if written == "edited" else written
    (run / run_files.RECIPE_FILE).write_text(text)
    recipe = load_recipe(tiny_recipe(tmp_path, tmp_path), [f"training.output_dir={run}"])
    with pytest.raises(GnivoError, match=r"recipe\.yaml, which is not a recipe gnivo wrote .*never overwrites it"):
        plan_start(recipe, run, resume=False)
    assert (run / run_files.RECIPE_FILE).read_text() == text


def _gnivo(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "gnivo_cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the training run")
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_saves_a_checkpoint_and_the_run_resumes(tmp_path, tiny_model_dir, signum):
    path, recipe = _recipe(tmp_path, tiny_model_dir, "h", "training.max_steps=40", "training.save_steps=100")
    run = Path(recipe.training.output_dir)
    overrides = ["--set", "training.learning_rate=0.05", "--set", "training.save_steps=100"]
    process = _gnivo("train", str(path), "--set", "training.max_steps=40", *overrides)
    _wait_for(lambda: len(run_files.read_metrics(run)) >= 1)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, err
    stopped_at = run_files.read_metrics(run)[-1]["step"]
    assert stopped_at < 40
    assert run_files.latest_checkpoint(run) == run / f"checkpoint-{stopped_at}"
    # after the step under way, or (the signal came while a step generated) with that step dropped
    assert f"checkpoint-{stopped_at} saved" in err and "resume with: gnivo train" in err and "--resume" in err
    assert "\x1b[?25l" not in err or err.rindex("\x1b[?25h") > err.rindex("\x1b[?25l")  # cursor shown again
    resumed = _gnivo("train", str(path), "--resume", "--set", "training.max_steps=40", *overrides)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert [row["step"] for row in run_files.read_metrics(run)] == list(range(1, 41))


def test_kill_9_at_any_moment_resumes_to_the_same_run(tmp_path, tiny_model_dir, uninterrupted):
    path, recipe = _recipe(tmp_path, tiny_model_dir, "k", "training.max_steps=6", "training.save_steps=1")
    run = Path(recipe.training.output_dir)
    overrides = ["--set", "training.learning_rate=0.05", "--set", "training.max_steps=6"]
    process = _gnivo("train", str(path), "--set", "training.save_steps=1", *overrides)
    _wait_for(lambda: (run_files.checkpoint_step(run_files.latest_checkpoint(run) or run) or 0) >= 2)
    process.kill()
    process.communicate()
    resumed = _gnivo("train", str(path), "--resume", "--set", "training.save_steps=1", *overrides)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert _comparable(run) == _comparable(uninterrupted)
    summary = json.loads((run / run_files.SUMMARY_FILE).read_text())
    assert summary["samples_generated"] == 24


def test_a_stop_while_a_step_generates_drops_it_and_the_resume_repeats_the_run(
    tmp_path, tiny_model_dir, uninterrupted, monkeypatch
):
    from transformers import TrainerCallback

    from gnivo_cli.errors import TrainingInterrupted
    from gnivo_cli.training import train as train_module

    class CtrlCAsStepBegins(TrainerCallback):  # the request comes before step 5 generates its first token
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step + 1 == 5:
                os.kill(os.getpid(), signal.SIGINT)

    build = train_module.build_trainer

    def with_ctrl_c(*args, **kwargs):
        trainer, metrics = build(*args, **kwargs)
        trainer.add_callback(CtrlCAsStepBegins())
        return trainer, metrics

    _, recipe = _recipe(tmp_path, tiny_model_dir, "dropped", "training.max_steps=6", "training.save_steps=3")
    monkeypatch.setattr(train_module, "build_trainer", with_ctrl_c)
    dropped = r"while step 5 generated \(that step is dropped\); checkpoint-4 saved"
    with pytest.raises(TrainingInterrupted, match=dropped):
        train(recipe)
    monkeypatch.setattr(train_module, "build_trainer", build)
    run = Path(recipe.training.output_dir)
    assert run_files.latest_checkpoint(run).name == "checkpoint-4"  # saved for the stop: save_steps is 3
    assert [row["step"] for row in run_files.read_metrics(run)] == [1, 2, 3, 4]
    train(recipe, resume=True)
    assert _comparable(run) == _comparable(uninterrupted)  # the dropped step left no trace
    summary = json.loads((run / run_files.SUMMARY_FILE).read_text())
    assert summary["samples_generated"] == 24
