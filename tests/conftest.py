"""Shared fixtures: tiny models and tokenizers built locally (no network, a few seconds)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One thread per test worker: oversubscribed OpenMP threads spin and slow everything down many-fold.
    # Set before torch is imported, and inherited by the CLI subprocesses tests start.
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"

#: Benchmark and training sets are not part of the repository: tests that need them read the folder named
#: here (the README's test command sets it to ../shared/benchmarks) and skip where it is unset or missing.
BENCHMARKS_ENV = "GNIVO_TEST_BENCHMARKS"

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = [
    "What is 17 + 25? Put the final answer in \\boxed{}.",
    "The answer is \\boxed{42}. So the final answer is 42.",
    "Let x = 3, then 2x + 1 = 7 and \\frac{1}{2} + \\sqrt{3} is irrational.",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 + - * / = ( ) [ ] { } $ \\ ^ _ , . ? !",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n\n step one. step two.",
]


def build_tiny_tokenizer():
    """A byte-level BPE tokenizer (round-trips any text) with a ChatML template."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        _CORPUS * 4, vocab_size=400, min_frequency=1, special_tokens=["<pad>", "<|im_start|>", "<|im_end|>"]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, pad_token="<pad>", eos_token="<|im_end|>", bos_token="<|im_start|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_llama_config(tokenizer, **overrides):
    """A 2-layer Llama config (hidden size 32) sized to the tokenizer."""
    from transformers import LlamaConfig

    settings = dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaConfig(**{**settings, **overrides})


def build_tiny_causal_lm(tokenizer, seed: int = 0):
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    config = tiny_llama_config(
        tokenizer,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(config)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return build_tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A saved 2-layer Llama (hidden size 32) with its tokenizer: a model reference any command accepts."""
    tokenizer = build_tiny_tokenizer()
    model = build_tiny_causal_lm(tokenizer)
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def shared_benchmarks() -> Path:
    folder = os.environ.get(BENCHMARKS_ENV)
    if not folder:
        pytest.skip(f"{BENCHMARKS_ENV} is unset: benchmark files are not part of the repository")
    path = Path(folder).resolve()
    if not path.is_dir():
        pytest.skip(f"{BENCHMARKS_ENV}={folder}: no such folder")
    return path


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    # Tests never reach a hub: make any accidental download fail fast instead of hanging.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
