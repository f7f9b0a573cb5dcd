"""`gnivo export` and the model card: a merged LoRA run loads with no peft and samples as the run does; a full
fine-tune is copied; the card's usage snippet runs offline; bad destinations are refused."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation import evaluate
from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.recipe.loader import load_recipe
from gnivo_cli.training import run_files
from gnivo_cli.training.export import export_run
from gnivo_cli.training.model_card import CARD_FILE
from gnivo_cli.training.train import train

sys.path.insert(0, str(Path(__file__).parent))
from test_tracking import LENGTH, held_out_file
from test_train import tiny_recipe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, tiny_model_dir) -> Path:
    folder = tmp_path_factory.mktemp("lora")
    eval_keys = f"eval: {{bench: gsm8k, data: '{held_out_file(folder)}', every: 2, limit: 2}}"
    body = (
        f"{{max_steps: 2, per_device_batch_size: 4, learning_rate: 0.05, output_dir: '{folder / 'run'}', {eval_keys}}}"
    )
    return train(load_recipe(tiny_recipe(folder, tiny_model_dir, rewards=LENGTH, training=body))).output_dir


def _snippet(card: Path) -> str:
    return card.read_text().split("```python\n", 1)[1].split("```", 1)[0]


def _run_snippet(card: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", _snippet(card)], capture_output=True, text=True, env=env, timeout=300)


def test_the_model_card_says_what_the_model_is_and_its_snippet_runs_offline(lora_run):
    card = (lora_run / run_files.FINAL_DIR / CARD_FILE).read_text()
    assert "None" not in card.split("## Recipe")[0]  # trl's "fine-tuned version of [None]" is gone
    assert "library_name: peft" in card and str(lora_run / run_files.FINAL_DIR) in card
    assert "Group-Normalized Implicit Value Optimization for Language Models" in card and "eFXmrCun0c" in card
    assert "algorithm `gnivo`" in card and "`length` (weight 1.0)" in card
    summary = read_json_object(lora_run / run_files.SUMMARY_FILE)
    assert f"| {summary['final_reward']:.3f} |" in card
    last = run_files.read_rows(lora_run / run_files.EVAL_FILE)[-1]
    assert f"held-out gsm8k, 2 problems, 1 sample each, at step {last['step']}" in card
    assert f"pass@1 {last['pass@1']:.3f}" in card
    assert "max_steps: 2" in card  # the recipe, embedded
    ran = _run_snippet(lora_run / run_files.FINAL_DIR / CARD_FILE)
    assert ran.returncode == 0, ran.stderr[-2000:]


def test_a_merged_export_loads_without_peft_and_samples_as_the_run(lora_run, tmp_path):
    from transformers import AutoModelForCausalLM

    done = export_run(lora_run, tmp_path / "merged", merge=True)
    assert done.kind == "merged" and done.output == tmp_path / "merged"
    files = {p.name for p in done.output.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", CARD_FILE} <= files
    assert "adapter_config.json" not in files
    model = AutoModelForCausalLM.from_pretrained(done.output)
    assert type(model).__name__ == "LlamaForCausalLM"
    card = (done.output / CARD_FILE).read_text()
    assert "library_name: transformers" in card and "merged into its weights" in card
    ran = _run_snippet(done.output / CARD_FILE)
    assert ran.returncode == 0, ran.stderr[-2000:]

    data = held_out_file(tmp_path)
    settings = dict(pass_at=[1, 2], data=str(data), max_new_tokens=8, temperature=1.0)
    on_run = evaluate("gsm8k", model=str(lora_run), output_dir=tmp_path / "eval-run", **settings)
    on_export = evaluate("gsm8k", model=str(done.output), output_dir=tmp_path / "eval-export", **settings)
    samples = [[(r["problem_id"], r["sample_index"], r["completion"]) for r in e.rows] for e in (on_run, on_export)]
    assert samples[0] == samples[1]
    assert len({text for *_, text in samples[0]}) > 1  # sampled text, not one repeated string


def test_a_full_fine_tune_exports_as_it_is(tmp_path, tiny_model_dir):
    body = f"{{max_steps: 1, per_device_batch_size: 4, output_dir: '{tmp_path / 'run'}'}}"
    run = train(
        load_recipe(tiny_recipe(tmp_path, tiny_model_dir, rewards=LENGTH, lora="{enabled: false}", training=body))
    ).output_dir
    done = export_run(run, tmp_path / "copy", merge=True)
    assert done.kind == "full" and "no adapter to merge" in done.notes[0]
    final = run / run_files.FINAL_DIR
    same = ["config.json", "model.safetensors", "tokenizer.json"]
    assert filecmp.cmpfiles(final, done.output, same, shallow=False)[0] == same
    assert "library_name: transformers" in (done.output / CARD_FILE).read_text()


def test_exports_that_would_lose_or_mix_files_are_refused(lora_run, tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    with pytest.raises(GnivoError, match="exists and is not an empty folder"):
        export_run(lora_run, occupied, merge=True)
    assert [p.name for p in occupied.iterdir()] == ["keep.txt"]
    with pytest.raises(GnivoError, match="inside the model it exports"):
        export_run(lora_run, lora_run / run_files.FINAL_DIR / "merged", merge=True)
    with pytest.raises(GnivoError, match="not a gnivo training run"):
        export_run(tmp_path, tmp_path / "out")
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / run_files.RECIPE_FILE).write_text("model: {name: embedded}\n")
    with pytest.raises(GnivoError, match="no final model"):
        export_run(unfinished, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    env = {**os.environ, "COLUMNS": "200"}
    cli = subprocess.run(
        [sys.executable, "-m", "gnivo_cli", "export", str(unfinished), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert cli.returncode == 1 and "Traceback" not in cli.stderr
    assert cli.stderr.strip().startswith("error:") and "no final model" in cli.stderr
