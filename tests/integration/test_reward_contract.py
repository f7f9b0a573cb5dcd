"""One contract for what a reward sees: the same reward, called by `gnivo train`, `gnivo score` and
`gnivo eval` for the same row, receives the same prompt, the same kind of completion and the same columns.

A recording reward plugin (and a benchmark that uses it) is installed as a distribution on PYTHONPATH;
each call appends what it received to a JSONL file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RECORDER = '''
import dataclasses
import json
import os

from gnivo_cli.evaluation.benchmark_spec import Benchmark
from rewards.base import Assessment, Reward, RewardParams


class Recorder(Reward):
    """Records what it receives; rewards 1.0. Like the math reward it has a `judge(completions, golds)` of its
    own, which must not be a way around the contract."""

    def __call__(self, prompts, completions, **columns):
        with open(os.environ["GNIVO_RECORD"], "a", encoding="utf-8") as sink:
            for i, (prompt, completion) in enumerate(zip(prompts, completions)):
                row = {"prompt": prompt, "completion": completion, "columns": {k: v[i] for k, v in columns.items()}}
                sink.write(json.dumps({"command": os.environ["GNIVO_COMMAND"], **row}) + "\\n")
        return [1.0] * len(completions)

    def judge(self, completions, golds):
        raise AssertionError("judged without prompts or columns")

    def assess(self, prompts, completions, **columns):
        return [Assessment(score, answer="four") for score in self(prompts, completions, **columns)]


class Raiser(Reward):
    """Raises on rows whose answer is "explode"."""

    def __call__(self, prompts, completions, **columns):
        if "explode" in columns["answer"]:
            raise ValueError("cannot parse this one")
        return [0.5] * len(completions)


RECORDED = Benchmark(
    name="recorded",
    title="One row, judged by the recorder",
    reward="recorder",
    prompt_template="{problem}",
    system_prompt="Be brief.",
    rows=({"problem": "What is 2+2?", "answer": "4"},),
)
'''

ROW = {"problem": "What is 2+2?", "answer": "4"}
PROMPT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]


@pytest.fixture
def plugin(tmp_path) -> Path:
    site = tmp_path / "site"
    info = site / "gnivo_recorder-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gnivo-recorder\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[gnivo.rewards]\nrecorder = gnivo_recorder:Recorder\nraiser = gnivo_recorder:Raiser\n\n"
        "[gnivo.benchmarks]\nrecorded = gnivo_recorder:RECORDED\n"
    )
    (site / "gnivo_recorder.py").write_text(textwrap.dedent(RECORDER))
    return site


def gnivo(command: str, *args: str, site: Path, record: Path, cwd: Path) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "GNIVO_RECORD": str(record), "GNIVO_COMMAND": command}
    return subprocess.run(
        [sys.executable, "-m", "gnivo_cli", command, *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def write_recipe(tmp_path: Path, model: Path, row: dict, rewards: str, max_steps: int = 1) -> Path:
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps(row) + "\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"model: {{name: '{model}'}}\n"
        f"data: {{source: '{data}', prompt_column: problem, system_prompt: 'Be brief.'}}\n"
        f"rewards: {rewards}\n"
        "algorithm: {name: gnivo, num_generations: 2}\n"
        "generation: {max_new_tokens: 4}\n"
        f"training: {{max_steps: {max_steps}, per_device_batch_size: 2, save_steps: 100, "
        f"output_dir: '{tmp_path / 'run'}'}}\n"
    )
    return recipe


def test_train_score_and_eval_give_a_reward_the_same_inputs(tmp_path, plugin, tiny_model_dir):
    record = tmp_path / "record.jsonl"
    recipe = write_recipe(tmp_path, tiny_model_dir, ROW, "[{name: recorder}]")
    trained = gnivo("train", str(recipe), site=plugin, record=record, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-2000:]

    out = tmp_path / "eval"
    args = ["--bench", "recorded", "--model", str(tiny_model_dir), "--max-new-tokens", "4", "-o", str(out)]
    evaluated = gnivo("eval", *args, site=plugin, record=record, cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]

    calls = [json.loads(line) for line in record.read_text().splitlines()]
    train_call = next(c for c in calls if c["command"] == "train")
    rows = tmp_path / "completions.jsonl"  # a completion from training, scored as a user would score it
    rows.write_text(json.dumps({**ROW, "prompt": train_call["prompt"], "completion": train_call["completion"]}) + "\n")
    scored = gnivo("score", str(rows), "--reward", "recorder", site=plugin, record=record, cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr[-2000:]

    calls = [json.loads(line) for line in record.read_text().splitlines()]
    by_command = {c["command"]: c for c in calls}
    assert set(by_command) == {"train", "eval", "score"}
    for command, call in by_command.items():
        assert call["prompt"] == PROMPT, command  # chat messages with their roles, never flattened
        (message,) = call["completion"]  # one assistant message
        assert message["role"] == "assistant" and isinstance(message["content"], str), command
        assert call["columns"] == ROW, command  # the row's own fields, nothing else
    score_call = next(c for c in calls if c["command"] == "score")
    assert score_call["completion"] == train_call["completion"]
    (sample,) = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert sample["reward"] == 1.0 and sample["correct"] is True
    assert sample["extracted_answer"] == "four"  # what the reward's `assess` found, kept with the sample


def test_a_raising_reward_stops_training_with_one_line_and_skip_makes_it_none(tmp_path, plugin, tiny_model_dir):
    row = {"problem": "What is 2+2?", "answer": "explode"}
    (tmp_path / "a").mkdir()
    recipe = write_recipe(tmp_path / "a", tiny_model_dir, row, "[{name: raiser}]")
    failed = gnivo("train", str(recipe), site=plugin, record=tmp_path / "r.jsonl", cwd=tmp_path)
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    (line,) = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: step 1: reward 'raiser' raised ValueError: cannot parse this one")
    assert "(sample 0 of the batch, prompt 'What is 2+2?')" in line and "on_error: skip" in line

    (tmp_path / "b").mkdir()
    recipe = write_recipe(tmp_path / "b", tiny_model_dir, row, "[{name: raiser, on_error: skip}]", max_steps=4)
    skipped = gnivo("train", str(recipe), site=plugin, record=tmp_path / "r.jsonl", cwd=tmp_path)
    assert skipped.returncode == 1
    assert "Traceback" not in skipped.stderr
    (line,) = [line for line in skipped.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: step 3: every reward (raiser) returned None for every completion in 3 batches")
