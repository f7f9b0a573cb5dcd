"""Stopping at any moment: a start interrupted while it loads writes nothing, even when a library swallows the
KeyboardInterrupt; a stop request ends a long generation at the next token; a batch beyond memory is refused."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from gnivo_cli.errors import TrainingInterrupted
from gnivo_cli.recipe.loader import load_recipe
from gnivo_cli.training import train as train_module
from tests.integration.test_train import tiny_recipe


def test_an_interrupt_a_library_swallows_while_loading_still_stops_the_start(tmp_path, tiny_model_dir, monkeypatch):
    real_build = train_module.build_trainer

    def build_and_swallow(*args, **kwargs):
        built = real_build(*args, **kwargs)
        # As regex's Group.__del__ does during transformers' imports: "Exception ignored", and on it goes.
        with contextlib.suppress(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
        return built

    monkeypatch.setattr(train_module, "build_trainer", build_and_swallow)
    recipe = load_recipe(tiny_recipe(tmp_path, tiny_model_dir))
    with pytest.raises(TrainingInterrupted, match="stopped by SIGINT before training started; nothing was written"):
        train_module.train(recipe)
    assert not Path(recipe.training.output_dir).exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are put back


def test_a_stop_request_ends_generation_at_the_next_token(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    from gnivo_cli.algorithms.baselines import stops_when

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    inputs = {"input_ids": torch.tensor([[1, 2, 3], [4, 5, 6]]), "attention_mask": torch.ones(2, 3, dtype=torch.long)}
    settings = dict(max_new_tokens=50, min_new_tokens=50, do_sample=False, pad_token_id=0)
    asked = iter([False] * 4 + [True] * 100)
    with stops_when(model, lambda: next(asked)):
        cut = model.generate(**inputs, **settings)
    assert cut.shape[1] == 3 + 5  # the token during which the request came is the last
    assert "generate" not in vars(model)  # the class's generate again
    assert model.generate(**inputs, **settings).shape[1] == 3 + 50


def test_a_batch_beyond_memory_is_refused_with_the_estimate(tmp_path, tiny_model_dir, monkeypatch):
    from gnivo_cli.models import memory

    recipe = load_recipe(
        tiny_recipe(tmp_path, tiny_model_dir),
        ["algorithm.num_generations=4096", "training.per_device_batch_size=4096", "generation.max_new_tokens=400"],
    )
    model = SimpleNamespace(
        config=SimpleNamespace(
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=8,
            hidden_size=32,
            vocab_size=400,
        ),
        parameters=lambda: iter([SimpleNamespace(element_size=lambda: 4, numel=lambda: 1000)]),
    )
    needed, what = memory.step_memory_bytes(recipe, model, longest_prompt=100)
    # float32 logits of 4096 rows x 500 tokens x 400 words, beyond the key/value cache of the same rows
    assert needed == 4000 + 4096 * 500 * 400 * 4 and what.startswith("float32 logits of 4,096 completions")
    monkeypatch.setattr(memory, "device_memory_bytes", lambda: (2**30, "this machine's RAM"))
    problem = memory.memory_problem(recipe, model, 100)
    assert problem is not None and "need at least 3.1 GiB" in problem and "more than the 1.0 GiB" in problem
    monkeypatch.setattr(memory, "device_memory_bytes", lambda: (2**33, "this machine's RAM"))
    assert memory.memory_problem(recipe, model, 100) is None
