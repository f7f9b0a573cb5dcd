"""`gnivo values` end to end on tiny models: the numbers against an independent computation, the sources, and
the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gnivo_cli.algorithms.gnivo.step_boundaries import step_ends
from gnivo_cli.cli import main
from tests.values_helpers import make_run, save_random_adapter, sequence_logps, write_logged

PROMPT = "What is 1 + 1?"


def gnivo(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error(code: int, err: str) -> str:
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model_dir) -> Path:
    return make_run(tmp_path_factory.mktemp("values") / "run", tiny_model_dir)


def test_values_match_an_independent_computation(run, tiny_model_dir, tmp_path, capsys):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "values.json"
    code, stdout, err = gnivo(["values", run, "--prompt", PROMPT, "-n", "3", "--seed", "5", "--json", out], capsys)
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["target"]["reference"].endswith("with its adapter disabled")
    assert report["target"]["scale"] == 0.25 and report["target"]["unit"] == "step"
    (prompt,) = report["prompts"]
    # the run's template and system prompt, as training builds the prompt
    assert prompt["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": f"{PROMPT} Answer:"},
    ]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = tokenizer.apply_chat_template(prompt["messages"], tokenize=False, add_generation_prompt=True)
    prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    policy = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), run / "final").eval()
    completions = prompt["completions"]
    assert len(completions) == 3
    rewards = [c["reward"] for c in completions]
    assert rewards == sorted(rewards, reverse=True)  # highest reward first
    for completion in completions:
        ids = [t["id"] for t in completion["tokens"]]
        policy_logps = sequence_logps(policy, prompt_ids, ids)
        ref_logps = sequence_logps(base, prompt_ids, ids)
        assert [t["logp_policy"] for t in completion["tokens"]] == pytest.approx(policy_logps, abs=1e-4)
        assert [t["logp_reference"] for t in completion["tokens"]] == pytest.approx(ref_logps, abs=1e-4)
        running, values = 0.0, []
        for p, r in zip(policy_logps, ref_logps, strict=True):
            running += p - r
            values.append(0.25 * running)
        assert [t["value"] for t in completion["tokens"]] == pytest.approx(values, abs=1e-4)
        assert any(abs(v) > 1e-3 for v in values)  # the adapter moved the policy: not all zeros
        # steps end where training ends them: after each " " (the run's separator), the last with the completion
        steps = completion["steps"]
        token_texts = [t["text"] for t in completion["tokens"]]
        assert [s["last_token"] for s in steps] == step_ends(token_texts, " ")
        assert "".join(s["text"] for s in steps) == "".join(token_texts)
        assert all(" " in s["text"] for s in steps[:-1])
        assert [s["value"] for s in steps] == pytest.approx([values[s["last_token"]] for s in steps], abs=1e-4)
        assert completion["min_step_value"] == pytest.approx(min(s["value"] for s in steps))
        assert completion["final_value"] == pytest.approx(values[-1], abs=1e-4)
        # the recipe's reward: the length reward, 1 - |characters - 4| / 8, floored at 0
        expected = max(0.0, 1 - abs(len(completion["text"]) - 4) / 8)
        assert completion["reward"] == pytest.approx(expected)
    assert "prompt 1" in stdout and "reward" in stdout and "lowest step value" in stdout


def test_samples_are_seeded_and_batching_changes_no_number(run, tmp_path, capsys):
    def texts_and_values(*extra: str) -> tuple[list[str], list[list[float]]]:
        out = tmp_path / "v.json"
        code, _, err = gnivo(["values", run, "-p", PROMPT, "-n", "4", "--json", out, "--brief", *extra], capsys)
        assert code == 0, err
        (prompt,) = json.loads(out.read_text())["prompts"]
        ordered = sorted(prompt["completions"], key=lambda c: c["index"])
        return [c["text"] for c in ordered], [[t["value"] for t in c["tokens"]] for c in ordered]

    first, values = texts_and_values("--seed", "1")
    again, values_one_by_one = texts_and_values("--seed", "1", "--batch-size", "1")
    other, _ = texts_and_values("--seed", "2")
    assert first == again and first != other
    for a, b in zip(values, values_one_by_one, strict=True):
        assert a == pytest.approx(b, abs=1e-5)


def test_every_output_file_is_written(run, tmp_path, capsys):
    html, plot, out = tmp_path / "page.html", tmp_path / "sub" / "values.png", tmp_path / "values.json"
    code, stdout, err = gnivo(
        ["values", run, "-p", PROMPT, "-p", "What is 2 + 2?", "-n", "2", "--html", html, "--plot", plot, "--json", out],
        capsys,
    )
    assert code == 0, err
    page = html.read_text()
    assert page.count('class="completion"') == 4 and "http://" not in page and "https://" not in page
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads(out.read_text())
    first_token = report["prompts"][0]["completions"][0]["tokens"][0]["text"]
    assert first_token.replace("&", "&amp;").replace("<", "&lt;") in page
    for path in (html, plot, out):
        assert str(path.name) in stdout


def test_a_plain_adapter_folder_and_a_full_model_with_ref(run, tiny_model_dir, tmp_path, capsys):
    from gnivo_cli.models.tiny import save_tiny_model

    out = tmp_path / "a.json"
    code, _, err = gnivo(["values", run / "final", "-p", PROMPT, "-n", "1", "--json", out], capsys)
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["target"]["scale"] == 1.0 and "adapter disabled" in report["target"]["reference"]
    assert report["target"]["unit"] == "step" and report["target"]["step_separator"] == "\n\n"
    other = save_tiny_model(tmp_path / "other", seed=1)  # same tokenizer, other weights
    code, _, err = gnivo(
        ["values", other, "--ref", tiny_model_dir, "-p", PROMPT, "-n", "1", "--alpha", "0.5", "--unit", "token",
         "--separator", "\\n", "--json", out], capsys,
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["target"]["scale"] == 0.5 and report["target"]["reference"] == str(tiny_model_dir)
    assert report["target"]["step_separator"] == "\n"  # `\n` as typed in a shell
    (completion,) = report["prompts"][0]["completions"]
    assert len(completion["steps"]) == len(completion["tokens"])  # the token unit
    assert "no reward" in " ".join(report["notes"])


def test_logged_completions_of_the_last_step_with_a_torn_line(run, tmp_path, capsys):
    messages = [{"role": "user", "content": "What is 1 + 1? Answer:"}]
    rows = [
        {"step": 1, "prompt": messages, "completion": "2", "reward": 0.5, "rewards": {"length": 0.5}, "answer": "2"},
        {"step": 2, "prompt": messages, "completion": [{"role": "assistant", "content": "two"}], "reward": 0.25,
         "rewards": {"length": 0.25}, "answer": "2", "weight": 0.3, "group": 0},
        {"step": 2, "prompt": messages, "completion": "2 2", "reward": 0.75, "rewards": {"length": 0.75},
         "answer": "2"},
    ]  # fmt: skip
    write_logged(run, rows, torn='{"step": 2, "prompt": "cut')
    out = tmp_path / "logged.json"
    try:
        code, _, err = gnivo(["values", run, "--logged", "--json", out], capsys)
        assert code == 0, err
        report = json.loads(out.read_text())
        (prompt,) = report["prompts"]
        assert [c["text"] for c in prompt["completions"]] == ["2 2", "two"]  # step 2, by recorded reward
        assert [c["reward"] for c in prompt["completions"]] == [0.75, 0.25]
        assert prompt["columns"] == {"answer": "2"}
        notes = " ".join(report["notes"])
        assert "step 2 of 2" in notes and "incomplete" in notes
        code, _, err = gnivo(["values", run, "--logged", "--step", "1", "--json", out], capsys)
        assert code == 0, err
        assert [c["text"] for c in json.loads(out.read_text())["prompts"][0]["completions"]] == ["2"]
        # --reward scores again instead of reading the recorded rewards
        code, _, err = gnivo(
            ["values", run, "--logged", "--reward", "length", "--param", "target=1", "--json", out], capsys
        )
        assert code == 0, err
        rescored = json.loads(out.read_text())["prompts"][0]["completions"]  # 1 - |words - 1| / 50
        assert [(c["text"], c["reward"]) for c in rescored] == [("two", 1.0), ("2 2", pytest.approx(0.98))]
        line = one_error(*gnivo(["values", run, "--logged", "--step", "7"], capsys)[::2])
        assert "no completions of step 7 (steps 1 to 2" in line
    finally:
        (run / "completions.jsonl").unlink()


def test_prompts_from_a_data_file(run, tmp_path, capsys):
    data = tmp_path / "prompts.jsonl"
    data.write_text(json.dumps({"problem": "What is 3 + 3?", "answer": "6"}) + "\n")
    out = tmp_path / "d.json"
    code, _, err = gnivo(["values", run, "--data", data, "-n", "2", "--json", out], capsys)
    assert code == 0, err
    (prompt,) = json.loads(out.read_text())["prompts"]
    assert prompt["messages"][-1]["content"] == "What is 3 + 3? Answer:" and prompt["columns"]["answer"] == "6"
    assert len(prompt["completions"]) == 2


def test_samples_of_an_eval_folder(run, tiny_model_dir, shared_benchmarks, tmp_path, capsys):
    from gnivo_cli.evaluation import evaluate

    folder = tmp_path / "eval"
    evaluate("aime24", model=str(tiny_model_dir), pass_at=[2], data=str(shared_benchmarks / "aime24.jsonl"),
             limit=2, max_new_tokens=5, output_dir=folder)  # fmt: skip
    out = tmp_path / "e.json"
    code, _, err = gnivo(["values", run, "--eval", folder, "--json", out], capsys)
    assert code == 0, err
    report = json.loads(out.read_text())
    assert len(report["prompts"]) == 2 and all(len(p["completions"]) == 2 for p in report["prompts"])
    samples = [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]
    texts = {(s["problem_id"], s["completion"]) for s in samples}
    assert {
        (p["label"].removeprefix("problem "), c["text"]) for p in report["prompts"] for c in p["completions"]
    } == texts
    assert all(c["reward"] == 0.0 for p in report["prompts"] for c in p["completions"])  # the verdicts, not rescored
    assert "\\boxed{}" in report["prompts"][0]["messages"][-1]["content"]  # the benchmark's own template


def test_bad_input_is_one_line(run, tiny_model_dir, tmp_path, capsys):
    from gnivo_cli.models.tiny import save_tiny_model, tiny_causal_lm, tiny_tokenizer

    def error(*args) -> str:
        code, _, err = gnivo(["values", *args], capsys)
        return one_error(code, err)

    assert "no reference to compare against" in error(tiny_model_dir, "-p", PROMPT)
    unfinished = make_run(tmp_path / "unfinished", tiny_model_dir, final=False)
    assert "the run has no final model (final/)" in error(unfinished, "-p", PROMPT)
    assert "checkpoint-1" in error(unfinished, "-p", PROMPT)
    other_tokens = tmp_path / "other-tokenizer"
    tokenizer = tiny_tokenizer(vocab_size=300)
    tiny_causal_lm(tokenizer).save_pretrained(other_tokens)
    tokenizer.save_pretrained(other_tokens)
    assert "another tokenizer" in error(tiny_model_dir, "--ref", other_tokens, "-p", PROMPT)
    assert "beyond the model's context of 512" in error(run, "-p", PROMPT, "--max-new-tokens", "600")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert "empty.jsonl: no rows" in error(run, "--data", empty)
    assert "give one source" in error(run)
    assert "give one source" in error(run, "-p", PROMPT, "--data", empty)
    assert "logged no completions" in error(run, "--logged")
    assert "--html" in error(run, "-p", PROMPT, "--html", tmp_path)  # a folder
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "a"}\n{"prompt": 1\n{"problem": "b"}\n')
    assert "bad.jsonl:2: invalid JSON" in error(run, "--data", bad)
    assert "--column 'answer'" in error(run, "-p", PROMPT, "--column", "answer")
    assert "no samples.jsonl" in error(run, "--eval", tmp_path)
    save_random_adapter(tiny_model_dir, tmp_path / "adapter")
    assert "--samples must be at least 1" in error(tmp_path / "adapter", "-p", PROMPT, "-n", "0")
    assert save_tiny_model  # imported for the other tests' models


def test_shared_and_single_prompts_read_the_same_numbers(run, tiny_model_dir):
    """Completions of one prompt share its pass; lone prompts are batched with padding: both against one
    unbatched pass per sequence, for the policy and for the reference (the adapter disabled)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from gnivo_cli.values.scorer import ValueScorer
    from gnivo_cli.values.target import resolve_target

    scorer = ValueScorer.load(resolve_target(str(run)), batch_size=2)
    tokenizer = scorer.tokenizer
    prompt_a, prompt_b, prompt_c = (tokenizer(text)["input_ids"] for text in ("What is 1 + 1?", "Hi", "x y z w"))
    sequences = [(prompt_a, [5, 6, 7]), (prompt_b, [8]), (prompt_a, [9]), (prompt_c, [10, 11, 12, 13]),
                 (prompt_a, [14, 15]), (prompt_a, [])]  # fmt: skip
    read = scorer.log_probs(sequences)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    policy = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), run / "final").eval()
    for (prompt, completion), numbers in zip(sequences, read, strict=True):
        if not completion:
            assert numbers.policy == [] and numbers.reference == []
            continue
        assert numbers.policy == pytest.approx(sequence_logps(policy, prompt, completion), abs=1e-4)
        assert numbers.reference == pytest.approx(sequence_logps(base, prompt, completion), abs=1e-4)


@pytest.mark.slow
def test_a_trained_runs_logged_completions(tmp_path, tiny_model_dir, capsys):
    """The contract with training: a real run's completions.jsonl, read with its recorded rewards."""
    import sys

    from gnivo_cli.recipe.loader import load_recipe
    from gnivo_cli.training.train import train

    sys.path.insert(0, str(Path(__file__).parent))
    from test_train import tiny_recipe

    recipe = tiny_recipe(
        tmp_path, tiny_model_dir,
        rewards="[{name: length, params: {target: 3, tolerance: 3}}]",
        algorithm="{name: gnivo, num_generations: 2, alpha: 0.5, unit: step, step_separator: ' '}",
        training=f"{{max_steps: 2, per_device_batch_size: 4, save_steps: 2, learning_rate: 1.0e-3, "
        f"log_completions: true, output_dir: '{tmp_path / 'run'}'}}",
    )  # fmt: skip
    run = train(load_recipe(recipe)).output_dir
    logged = [json.loads(line) for line in (run / "completions.jsonl").read_text().splitlines()]
    last = [row for row in logged if row["step"] == max(r["step"] for r in logged)]
    out = tmp_path / "logged.json"
    code, _, err = gnivo(["values", run, "--logged", "--json", out], capsys)
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["target"]["scale"] == 0.5 and report["target"]["step_separator"] == " "
    read = [(p["messages"], c["text"], c["reward"]) for p in report["prompts"] for c in p["completions"]]
    expected = [(row["prompt"], row["completion"][-1]["content"], row["reward"]) for row in last]
    assert sorted(map(json.dumps, read)) == sorted(map(json.dumps, expected))


def test_a_baseline_run_has_no_alpha_so_values_are_log_ratios(tmp_path, tiny_model_dir, capsys):
    grpo = make_run(tmp_path / "grpo", tiny_model_dir, algorithm="grpo")
    out = tmp_path / "g.json"
    code, stdout, err = gnivo(["values", grpo, "-p", PROMPT, "-n", "1", "--json", out], capsys)
    assert code == 0, err
    target = json.loads(out.read_text())["target"]
    assert target["scale"] == 1.0 and target["algorithm"] == "grpo" and "nats" in target["scale_note"]
    assert target["unit"] == "step" and target["step_separator"] == "\n\n"  # GRPO has no steps of its own
    assert "in nats" in stdout
