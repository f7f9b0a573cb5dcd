"""`evaluate()` end to end: scores, files, resume after an interruption, and refusing to mix settings.

Correctness is judged by the real `math` reward; generation is either a scripted backend (known
answers, so scores can be checked by hand) or the HF backend on a tiny model.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation import evaluate, get_benchmark
from gnivo_cli.evaluation.generation import Completion, Generator, SampleRequest

# The first three aime24 problems: ids 60, 61, 62 with gold answers 204, 113, 371.
GOLDS = {"60": "204", "61": "113", "62": "371"}


class ScriptedGenerator:
    """Answers from a table: (problem_id, sample_index) -> completion text. Counts what it was asked."""

    name = "scripted"

    def __init__(self, answers: dict[tuple[str, int], str], batch_size: int = 2):
        self.answers = answers
        self.batch_size = batch_size
        self.requested: list[tuple[str, int]] = []
        self.closed = False

    def generate(self, requests: Sequence[SampleRequest]) -> Iterator[list[Completion]]:
        for start in range(0, len(requests), self.batch_size):
            batch = requests[start : start + self.batch_size]
            self.requested += [(r.problem_id, r.sample_index) for r in batch]
            yield [
                Completion(r, self.answers[(r.problem_id, r.sample_index)], num_tokens=5, finish_reason="stop")
                for r in batch
            ]

    def close(self) -> None:
        self.closed = True


def _script() -> dict[tuple[str, int], str]:
    # Problem 60: 3 of 3 correct; 61: 1 of 3 (sample 2); 62: none, one sample without any answer.
    return {
        ("60", 0): "so \\boxed{204}",
        ("60", 1): "\\boxed{204.0}",
        ("60", 2): "The answer is \\boxed{ 204 }.",
        ("61", 0): "\\boxed{112}",
        ("61", 1): "\\boxed{114}",
        ("61", 2): "Thus \\boxed{113}",
        ("62", 0): "\\boxed{370}",
        ("62", 1): "I am not sure.",
        ("62", 2): "\\boxed{\\frac{1}{2}}",
    }


@pytest.fixture
def aime24(shared_benchmarks) -> Path:
    return shared_benchmarks / "aime24.jsonl"


def _without_timing(results: dict) -> dict:
    return {k: v for k, v in results.items() if k != "timing"}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_scores_and_files_match_hand_computation(tmp_path, aime24, tiny_model_dir):
    generator = ScriptedGenerator(_script())
    assert isinstance(generator, Generator)
    result = evaluate(
        "aime24",
        model=str(tiny_model_dir),
        pass_at=[1, 3],
        data=aime24,
        limit=3,
        output_dir=tmp_path / "out",
        generator=generator,
    )
    # pass@1 = mean(3/3, 1/3, 0/3); pass@3 = mean(1, 1, 0); avg@3 = 4 correct of 9.
    assert result["pass@1"] == pytest.approx(4 / 9)
    assert result["pass@3"] == pytest.approx(2 / 3)
    assert result["avg@3"] == pytest.approx(4 / 9)
    assert result.scores == {"pass@1": result["pass@1"], "pass@3": result["pass@3"], "avg@3": result["avg@3"]}

    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    assert on_disk == result.results
    assert on_disk["benchmark"] == "aime24"
    assert on_disk["model"] == str(tiny_model_dir)
    assert on_disk["num_problems"] == 3 and on_disk["samples_per_problem"] == 3 and on_disk["num_samples"] == 9
    assert on_disk["problems_solved"] == 2 and on_disk["num_correct"] == 4
    assert on_disk["no_answer_rate"] == pytest.approx(1 / 9)
    assert on_disk["tokens_generated"] == 45
    assert on_disk["settings"]["seed"] == 0 and on_disk["settings"]["pass_at"] == [1, 3]
    assert on_disk["settings"]["samples"] == 3 and on_disk["settings"]["limit"] == 3
    assert "{problem}" in on_disk["settings"]["prompt_template"]
    assert on_disk["timing"]["samples_generated"] == 9
    assert generator.requested and not generator.closed  # a caller's generator is the caller's to close

    rows = _rows(tmp_path / "out" / "samples.jsonl")
    assert len(rows) == 9
    assert {(r["problem_id"], r["sample_index"]) for r in rows} == {(p, i) for p in GOLDS for i in range(3)}
    row = next(r for r in rows if (r["problem_id"], r["sample_index"]) == ("61", 2))
    assert row["completion"] == "Thus \\boxed{113}"
    assert row["extracted_answer"] == "113" and row["gold"] == "113" and row["correct"] is True
    for key in ("problem_id", "sample_index", "completion", "extracted_answer", "gold", "correct"):
        assert all(key in r for r in rows)


def test_pass_at_k_between_1_and_n(tmp_path, aime24, tiny_model_dir):
    result = evaluate(
        "aime24",
        model=str(tiny_model_dir),
        pass_at=2,
        samples=3,
        data=aime24,
        limit=3,
        output_dir=tmp_path,
        generator=ScriptedGenerator(_script()),
    )
    # c = 3, 1, 0 of n = 3: pass@2 = 1, 1 - C(2,2)/C(3,2) = 2/3, 0.
    assert result["pass@2"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert set(result.scores) == {"pass@2", "avg@3"}


def test_fewer_samples_than_k_is_an_error(tmp_path, aime24):
    with pytest.raises(GnivoError, match="--samples 2 is smaller than --pass-at 3"):
        evaluate("aime24", pass_at=[1, 3], samples=2, data=aime24, output_dir=tmp_path)


def test_bad_settings_are_reported_together(tmp_path, aime24):
    with pytest.raises(GnivoError) as error:
        evaluate("aime24", temperature=-1, top_p=1.5, max_new_tokens=0, data=aime24, output_dir=tmp_path)
    message = str(error.value)
    assert "--temperature" in message and "--top-p" in message and "--max-new-tokens" in message
    with pytest.raises(GnivoError, match=r"must contain \{problem\}"):
        evaluate("aime24", prompt_template="Solve it.", data=aime24, output_dir=tmp_path)
    with pytest.raises(GnivoError, match="unknown benchmark 'aime2'"):
        evaluate("aime2", data=aime24, output_dir=tmp_path)


class Interrupt(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_results(tmp_path, aime24, tiny_model_dir):
    settings = dict(
        model=str(tiny_model_dir), pass_at=[1, 2], data=aime24, limit=3, max_new_tokens=6, batch_size=2, seed=4
    )
    whole = evaluate("aime24", output_dir=tmp_path / "whole", **settings)

    def stop_after_first_batch(rows):
        raise Interrupt

    with pytest.raises(Interrupt):
        evaluate("aime24", output_dir=tmp_path / "cut", on_batch=stop_after_first_batch, **settings)
    assert len(_rows(tmp_path / "cut" / "samples.jsonl")) == 2  # the first batch was saved
    assert not (tmp_path / "cut" / "results.json").exists()

    batches = []
    resumed = evaluate("aime24", output_dir=tmp_path / "cut", on_batch=batches.append, **settings)
    assert sum(len(b) for b in batches) == 4  # only the missing samples were generated
    assert resumed.results["timing"]["samples_resumed"] == 2
    assert _without_timing(resumed.results) == _without_timing(whole.results)
    key = lambda r: (r["problem_id"], r["sample_index"])  # noqa: E731
    assert sorted(_rows(tmp_path / "cut" / "samples.jsonl"), key=key) == sorted(
        _rows(tmp_path / "whole" / "samples.jsonl"), key=key
    )


def test_rerunning_a_finished_run_generates_nothing(tmp_path, aime24, tiny_model_dir):
    common = dict(model=str(tiny_model_dir), pass_at=[1, 3], data=aime24, limit=3, output_dir=tmp_path)
    first = evaluate("aime24", generator=ScriptedGenerator(_script()), **common)
    again = ScriptedGenerator(_script())
    second = evaluate("aime24", generator=again, **common)
    assert again.requested == []
    assert _without_timing(second.results) == _without_timing(first.results)
    # Other k with the same number of samples only rescore.
    rescored = evaluate("aime24", **{**common, "pass_at": [2], "samples": 3}, generator=again)
    assert again.requested == []
    assert rescored["pass@2"] == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_other_settings_into_the_same_folder_are_refused(tmp_path, aime24, tiny_model_dir):
    common = dict(model=str(tiny_model_dir), pass_at=[1, 3], data=aime24, limit=3, output_dir=tmp_path)
    evaluate("aime24", generator=ScriptedGenerator(_script()), **common)
    before = (tmp_path / "samples.jsonl").read_text()
    with pytest.raises(GnivoError, match=r"holds samples of other settings \(temperature: 0.6 -> 1.0\)"):
        evaluate("aime24", temperature=1.0, generator=ScriptedGenerator(_script()), **common)
    with pytest.raises(GnivoError, match=r"limit: 3 -> 2.*another --output-dir"):
        evaluate("aime24", **{**common, "limit": 2}, generator=ScriptedGenerator(_script()))
    with pytest.raises(GnivoError, match=r"samples: 3 -> 4"):
        evaluate("aime24", **{**common, "samples": 4}, generator=ScriptedGenerator(_script()))
    assert (tmp_path / "samples.jsonl").read_text() == before


def test_the_same_data_by_another_path_resumes(tmp_path, aime24, tiny_model_dir, monkeypatch):
    common = dict(model=str(tiny_model_dir), pass_at=[3], limit=3, output_dir=tmp_path / "out")
    evaluate("aime24", data=aime24, generator=ScriptedGenerator(_script()), **common)
    monkeypatch.chdir(aime24.parent)
    again = ScriptedGenerator(_script())
    resumed = evaluate("aime24", data=aime24.name, generator=again, **common)
    assert again.requested == [] and resumed["num_samples"] == 9


def test_a_half_written_last_line_is_regenerated(tmp_path, aime24, tiny_model_dir):
    common = dict(model=str(tiny_model_dir), pass_at=[3], data=aime24, limit=3, output_dir=tmp_path)
    first = evaluate("aime24", generator=ScriptedGenerator(_script()), **common)
    samples = tmp_path / "samples.jsonl"
    lines = samples.read_text().splitlines(keepends=True)
    samples.write_text("".join(lines[:-1]) + lines[-1][:20])  # killed in the middle of the last write
    last = json.loads(lines[-1])
    generator = ScriptedGenerator(_script())
    second = evaluate("aime24", generator=generator, **common)
    assert generator.requested == [(last["problem_id"], last["sample_index"])]
    assert len(_rows(samples)) == 9
    assert _without_timing(second.results) == _without_timing(first.results)


def test_a_corrupt_samples_file_is_a_clear_error(tmp_path, aime24, tiny_model_dir):
    common = dict(model=str(tiny_model_dir), pass_at=[3], data=aime24, limit=3, output_dir=tmp_path)
    evaluate("aime24", generator=ScriptedGenerator(_script()), **common)
    samples = tmp_path / "samples.jsonl"
    samples.write_text("garbage\n" + samples.read_text())
    with pytest.raises(GnivoError, match=r"samples.jsonl:1: not a sample row"):
        evaluate("aime24", generator=ScriptedGenerator(_script()), **common)


def test_the_default_folder_resumes_the_same_command(tmp_path, aime24, tiny_model_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = dict(model=str(tiny_model_dir), pass_at=[3], data=aime24, limit=3)
    first = evaluate("aime24", generator=ScriptedGenerator(_script()), **common)
    again = ScriptedGenerator(_script())
    second = evaluate("aime24", generator=again, **common)
    other = evaluate("aime24", seed=1, generator=ScriptedGenerator(_script()), **common)
    assert first.output_dir == second.output_dir and again.requested == []
    assert other.output_dir != first.output_dir
    assert first.output_dir.parts[:2] == ("gnivo-eval", "aime24")
    assert first.output_dir.name.startswith(tiny_model_dir.name)


def test_vllm_backend_without_vllm_fails_before_loading_anything(tmp_path, aime24, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # what Python records for a module that cannot be imported
    with pytest.raises(GnivoError, match=r"--backend vllm needs vLLM"):
        evaluate("aime24", backend="vllm", data=aime24, output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_lora_adapter_and_a_training_output_folder_are_models(tmp_path, aime24, tiny_model_dir):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    torch.manual_seed(0)  # the random adapter, so the check below does not depend on the tests run before
    adapter = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    adapter_dir = tmp_path / "run" / "checkpoint-3"
    adapter.save_pretrained(adapter_dir)  # records the base model's path in adapter_config.json
    common = dict(pass_at=[1], data=aime24, limit=1, max_new_tokens=3, temperature=0)
    by_adapter = evaluate("aime24", model=str(adapter_dir), output_dir=tmp_path / "a", **common)
    by_run = evaluate("aime24", model=str(tmp_path / "run"), output_dir=tmp_path / "b", **common)
    plain = evaluate("aime24", model=str(tiny_model_dir), output_dir=tmp_path / "c", **common)
    assert by_run["model_path"] == by_adapter["model_path"] == str(adapter_dir.resolve())
    assert by_run.rows[0]["completion"] == by_adapter.rows[0]["completion"]
    # The adapter changes the model (its weights are not initialised to a no-op here).
    assert by_adapter.rows[0]["completion"] != plain.rows[0]["completion"]


def test_resume_is_keyed_on_the_weights_not_the_path(tmp_path, aime24, tiny_model_dir):
    import os
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    common = dict(pass_at=[3], data=aime24, limit=3, output_dir=tmp_path / "out")
    evaluate("aime24", model=str(model), generator=ScriptedGenerator(_script()), **common)

    moved = tmp_path / "moved"
    model.rename(moved)  # the same weights elsewhere: resumes
    again = ScriptedGenerator(_script())
    evaluate("aime24", model=str(moved), generator=again, **common)
    assert again.requested == []

    weights = next(moved.glob("*.safetensors"))
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # new weights written at the same path
    with pytest.raises(GnivoError, match=r"holds samples of other settings \(model: \"local:"):
        evaluate("aime24", model=str(moved), generator=ScriptedGenerator(_script()), **common)


def test_two_evaluations_into_one_folder_are_refused(tmp_path, aime24, tiny_model_dir):
    import fcntl

    common = dict(model=str(tiny_model_dir), pass_at=[3], data=aime24, limit=3, output_dir=tmp_path)
    evaluate("aime24", generator=ScriptedGenerator(_script()), **common)
    before = (tmp_path / "samples.jsonl").read_text()
    with (tmp_path / "samples.jsonl").open("ab") as running:  # what a running evaluation holds
        fcntl.flock(running.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(GnivoError, match="another `gnivo eval` is writing to this folder"):
            evaluate("aime24", generator=ScriptedGenerator(_script()), **common)
    assert (tmp_path / "samples.jsonl").read_text() == before
    evaluate("aime24", generator=ScriptedGenerator(_script()), **common)  # released: resumes as before


def test_settings_can_be_built_once_and_passed_whole(tmp_path, aime24, tiny_model_dir):
    from gnivo_cli.evaluation import EvalSettings

    settings = EvalSettings("aime24", model=str(tiny_model_dir), pass_at=(1,), samples=3, data=str(aime24), limit=3)
    result = evaluate(settings, output_dir=tmp_path, generator=ScriptedGenerator(_script()))
    assert result["settings"]["temperature"] == EvalSettings.temperature == 0.6
    assert result["settings"]["prompt_template"] == get_benchmark("aime24").prompt_template
    with pytest.raises(GnivoError, match=r"unknown evaluation setting 'temprature'; did you mean 'temperature'\?"):
        evaluate("aime24", temprature=1.0)


def test_a_reward_that_cannot_read_the_rows_fails_before_generating(tmp_path, tiny_model_dir, monkeypatch):
    from gnivo_cli.evaluation.benchmark_spec import Benchmark
    from gnivo_cli.evaluation.benchmarks import BENCHMARKS

    bench = Benchmark(
        name="budgeted",
        title="Rows without the column the reward reads",
        reward="length",  # the example plugin, installed with the test dependencies
        reward_params={"target_column": "budget"},
        prompt_template="{problem}",
        rows=({"problem": "Say hi.", "answer": 1},),
    )
    monkeypatch.setitem(BENCHMARKS, "budgeted", bench)
    generator = ScriptedGenerator({("0", 0): "hi"})
    with pytest.raises(GnivoError, match=r"reward 'length' needs field 'budget', which problem 0 lacks"):
        evaluate("budgeted", model=str(tiny_model_dir), output_dir=tmp_path, generator=generator)
    assert generator.requested == []
    result = evaluate(
        "budgeted", model=str(tiny_model_dir), output_dir=tmp_path / "ok", generator=generator,
        reward_params={"target_column": "answer", "tolerance": 1},
    )  # fmt: skip
    assert result["pass@1"] == 1.0 and result.rows[0]["reward"] == 1.0  # "hi" is one word, as asked
