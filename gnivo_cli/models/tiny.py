"""Tiny Llama models built from a config, offline, in seconds: for tests, benchmarks and plugin authors.

A byte-level BPE tokenizer (it round-trips any text) with a ChatML chat template, and a small Llama sized
to it. Saved with `save_tiny_model`, the pair is a model directory any gnivo command accepts, so a reward
plugin's own tests can train a few steps through `gnivo train` without a download.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ("<pad>", "<|im_start|>", "<|im_end|>")

#: Text the default tokenizer learns its merges from: math prompts, boxed answers, digits and letters.
DEFAULT_CORPUS = (
    "What is 17 + 25? Put the final answer in \\boxed{}.",
    "The answer is \\boxed{42}. So the final answer is 42.",
    "Let x = 3, then 2x + 1 = 7 and \\frac{1}{2} + \\sqrt{3} is irrational.",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 + - * / = ( ) [ ] { } $ \\ ^ _ , . ? !",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n\n step one. step two.",
)

#: A 2-layer Llama with hidden size 32 (about 40k parameters besides the embeddings).
TINY_SIZES: dict[str, int] = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
)


def tiny_tokenizer(corpus: Sequence[str] = DEFAULT_CORPUS, vocab_size: int = 400) -> Any:
    """A byte-level BPE tokenizer trained on `corpus`, with ChatML special tokens and template.

    `vocab_size` 259 (256 bytes + the special tokens) learns no merges: each text has one tokenization.
    """
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        list(corpus) * 4,
        vocab_size=vocab_size,
        min_frequency=1,
        show_progress=False,
        special_tokens=list(SPECIAL_TOKENS),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, pad_token="<pad>", eos_token="<|im_end|>", bos_token="<|im_start|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_llama_config(tokenizer: Any, **overrides: Any) -> Any:
    """A `TINY_SIZES` Llama config sized to the tokenizer, with its special tokens; `overrides` win."""
    from transformers import LlamaConfig

    settings = dict(
        vocab_size=len(tokenizer),
        **TINY_SIZES,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=True,
    )
    return LlamaConfig(**{**settings, **overrides})


def tiny_causal_lm(tokenizer: Any, seed: int = 0, **overrides: Any) -> Any:
    """A freshly initialised causal LM (the same weights for the same seed and config)."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(tiny_llama_config(tokenizer, **overrides))


def save_tiny_model(target: str | Path, seed: int = 0, **overrides: Any) -> Path:
    """Save a tiny causal LM and its tokenizer to `target`: a model directory for `model.name`.

    `overrides` change its config (e.g. `attention_dropout=0.3`)."""
    from transformers.utils import logging as transformers_logging

    target = Path(target)
    tokenizer = tiny_tokenizer()
    transformers_logging.disable_progress_bar()
    tiny_causal_lm(tokenizer, seed, **overrides).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target
