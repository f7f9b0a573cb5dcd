"""`gnivo eval` beside pass@k: maj@k from the extracted answers, and the pick of k by implicit value for a gnivo
run, stored with the samples and resumed like them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gnivo_cli.evaluation import evaluate
from gnivo_cli.evaluation.generation import Completion
from gnivo_cli.evaluation.passk import best_of_k
from tests.integration.test_eval_run import ScriptedGenerator
from tests.values_helpers import make_run, sequence_logps


class TokenizedGenerator(ScriptedGenerator):
    """Scripted answers with their token ids, as a real backend returns them (the values need the ids)."""

    def __init__(self, answers, tokenizer, batch_size: int = 2):
        super().__init__(answers, batch_size)
        self.tokenizer = tokenizer

    def generate(self, requests):
        for batch in super().generate(requests):
            yield [
                Completion(c.request, c.text, c.num_tokens, c.finish_reason, tuple(self._ids(c.text))) for c in batch
            ]

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]


SCRIPT = {  # gold answers: 60 -> 204, 61 -> 113, 62 -> 371
    ("60", 0): "so \\boxed{204}",
    ("60", 1): "\\boxed{204.0}",
    ("60", 2): "\\boxed{7}",
    ("61", 0): "\\boxed{112}",
    ("61", 1): "\\boxed{112.0}",  # the same wrong answer as 112: two votes against one
    ("61", 2): "Thus \\boxed{113}",
    ("62", 0): "\\boxed{370}",
    ("62", 1): "I am not sure.",  # no answer: no vote
    ("62", 2): "\\boxed{371}",
}


@pytest.fixture
def aime24(shared_benchmarks) -> Path:
    return shared_benchmarks / "aime24.jsonl"


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model_dir) -> Path:
    return make_run(tmp_path_factory.mktemp("eval-values") / "run", tiny_model_dir, alpha=0.5, separator=" ")


def test_majority_vote_groups_equal_answers(tmp_path, aime24, tiny_model_dir):
    result = evaluate(
        "aime24", model=str(tiny_model_dir), pass_at=[2, 3], data=aime24, limit=3, output_dir=tmp_path,
        generator=ScriptedGenerator(SCRIPT),
    )  # fmt: skip
    # 60: 204, 204.0 (both right), 7 -> k=3: right; k=2: wrong only for {204.0, 7}? no: a 1-1 tie, 1/2
    # 61: 112 and 112.0 are one wrong answer with 2 votes -> k=3: wrong; k=2: {112, 112.0} wrong, others 1/2
    # 62: 370, none, 371 -> k=3: a 1-1 tie, 1/2; k=2: {370, none} 0, {370, 371} 1/2, {none, 371} 1
    expected_3 = (1 + 0 + 0.5) / 3
    expected_2 = ((1 + 0.5 + 0.5) / 3 + (0 + 0.5 + 0.5) / 3 + (0 + 0.5 + 1) / 3) / 3
    assert result["maj@3"] == pytest.approx(expected_3)
    assert result["maj@2"] == pytest.approx(expected_2)
    assert "value_min@3" not in result.results  # a plain model: no reference to read values against
    assert "maj@3" in result.scores
    fingerprint = json.loads((tmp_path / "run.json").read_text())["fingerprint"]
    assert "value_ref" not in fingerprint  # folders made before reranking existed still resume


def test_a_gnivo_run_is_reranked_by_its_implicit_values(tmp_path, aime24, run, tiny_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from gnivo_cli.algorithms.gnivo.step_boundaries import step_ends
    from gnivo_cli.evaluation.benchmarks import get_benchmark, load_problems
    from gnivo_cli.evaluation.prompts import PromptTemplate

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    result = evaluate(
        "aime24", model=str(run), pass_at=[1, 3], data=aime24, limit=3, output_dir=tmp_path,
        generator=TokenizedGenerator(SCRIPT, tokenizer),
    )  # fmt: skip
    assert result.results["settings"]["value_ref"] == "own"
    rows = result.rows
    assert all({"value_min", "value_final", "value_lowest_step"} <= set(row) for row in rows)

    # Each stored value against an independent computation: the adapter's policy and its base, one pass each.
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    policy = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), run / "final").eval()
    benchmark = get_benchmark("aime24")
    problems = {p.id: p for p in load_problems(benchmark, aime24, limit=3)}
    template = PromptTemplate(benchmark.prompt_template, benchmark.system_prompt)
    for row in rows:
        prompt_ids = template.encode(tokenizer, problems[row["problem_id"]].problem)
        ids = tokenizer(row["completion"], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ratios = [
            p - r
            for p, r in zip(sequence_logps(policy, prompt_ids, ids), sequence_logps(base, prompt_ids, ids), strict=True)
        ]
        running = [0.5 * sum(ratios[: i + 1]) for i in range(len(ratios))]
        ends = step_ends([tokenizer.decode([t]) for t in ids], " ")
        assert row["value_final"] == pytest.approx(running[-1], abs=1e-4)
        assert row["value_min"] == pytest.approx(min(running[e] for e in ends), abs=1e-4)

    # The reported picks are the unbiased best-of-k estimates over the stored values.
    for field in ("value_min", "value_final"):
        per_problem = []
        for pid in ("60", "61", "62"):
            mine = [row for row in rows if row["problem_id"] == pid]
            per_problem.append(best_of_k([r[field] for r in mine], [float(r["correct"]) for r in mine], 3))
        assert result[f"{field}@3"] == pytest.approx(sum(per_problem) / 3)
    assert "value_min@1" not in result.results  # at k = 1 a pick is pass@1
    assert json.loads((tmp_path / "run.json").read_text())["fingerprint"]["value_ref"] == "own"

    # Resumed: the samples already there keep their values, the missing ones get theirs.
    samples = tmp_path / "samples.jsonl"
    lines = samples.read_text().splitlines(keepends=True)
    samples.write_text("".join(lines[:4]))
    generator = TokenizedGenerator(SCRIPT, tokenizer)
    again = evaluate("aime24", model=str(run), pass_at=[1, 3], data=aime24, limit=3, output_dir=tmp_path,
                     generator=generator)  # fmt: skip
    assert len(generator.requested) == len(lines) - 4
    assert {k: v for k, v in again.scores.items()} == pytest.approx(result.scores)


def test_values_can_be_turned_off_and_need_the_hf_backend(tmp_path, aime24, run, tiny_model_dir):
    from transformers import AutoTokenizer

    from gnivo_cli.errors import GnivoError

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    result = evaluate("aime24", model=str(run), pass_at=[3], data=aime24, limit=2, output_dir=tmp_path,
                      generator=TokenizedGenerator(SCRIPT, tokenizer), value_ref="none")  # fmt: skip
    assert "value_min@3" not in result.results and "maj@3" in result.results
    with pytest.raises(GnivoError, match="hf backend"):
        evaluate("aime24", model=str(run), data=aime24, limit=2, backend="vllm", value_ref="own")
    # another model as the reference: the base model itself, given as a folder
    other = evaluate("aime24", model=str(run / "final"), pass_at=[3], data=aime24, limit=2,
                     output_dir=tmp_path / "ref", generator=TokenizedGenerator(SCRIPT, tokenizer),
                     value_ref=str(tiny_model_dir))  # fmt: skip
    assert "value_min@3" in other.results
