"""A lower bound of the memory one training step needs, against the memory this machine has.

Generation keeps a key/value cache for every completion it samples at once; the loss computes the logits of
every token of a micro-batch in float32. Either alone, plus the weights, is less than a step really needs,
so a recipe whose bound already exceeds the device (or, on a CPU, the machine's RAM) cannot run: it is
refused before training, naming the key, instead of failing (or swapping) deep inside generation.
"""

from __future__ import annotations

import os
from typing import Any


def step_memory_bytes(recipe: Any, model: Any, longest_prompt: int) -> tuple[int, str]:
    """(bytes, what dominates) for one training step of `recipe` on `model`: a lower bound."""
    config = model.config
    layers = int(getattr(config, "num_hidden_layers", 0) or 0)
    heads = int(getattr(config, "num_attention_heads", 0) or 0)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or (config.hidden_size // heads if heads else 0))
    vocab = int(getattr(config, "vocab_size", 0) or 0)
    parameters = list(model.parameters())
    element = parameters[0].element_size() if parameters else 4
    weights = sum(p.numel() * p.element_size() for p in parameters)

    train = recipe.training
    rows_generated = train.per_device_batch_size * train.gradient_accumulation_steps  # one generation batch
    tokens = longest_prompt + recipe.generation.max_new_tokens
    cache = rows_generated * tokens * layers * 2 * kv_heads * head_dim * element
    logits = train.per_device_batch_size * tokens * vocab * 4
    if cache >= logits:
        what = f"the key/value cache of {rows_generated:,} completions of up to {tokens:,} tokens"
    else:
        what = f"float32 logits of {train.per_device_batch_size:,} completions of up to {tokens:,} tokens"
    return weights + max(cache, logits), what


def device_memory_bytes() -> tuple[int, str] | None:
    """(bytes, name) of the memory training runs in: this process's GPU, else the machine's RAM."""
    import torch

    if torch.cuda.is_available():
        index = int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count()
        return torch.cuda.get_device_properties(index).total_memory, f"GPU {index}"
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine's RAM"
    except (ValueError, OSError, AttributeError):  # no such sysconf name here
        return None


def memory_problem(recipe: Any, model: Any, longest_prompt: int) -> str | None:
    """Why one step of `recipe` cannot fit in this machine's memory, with the estimate; None if it may."""
    available = device_memory_bytes()
    if available is None or recipe.generation.use_vllm:  # vLLM sizes its own cache, and says so
        return None
    needed, what = step_memory_bytes(recipe, model, longest_prompt)
    if needed <= available[0]:
        return None
    k = recipe.algorithm.num_generations
    return (
        f"{recipe.training.per_device_batch_size:,} completions per device (groups of algorithm.num_generations "
        f"{k:,}) need at least {needed / 2**30:,.1f} GiB for {what}, more than the {available[0] / 2**30:,.1f} GiB "
        f"of {available[1]}; lower it (and num_generations) or generation.max_new_tokens"
    )
