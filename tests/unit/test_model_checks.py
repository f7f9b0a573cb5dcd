"""Loading models safely and clearly, and the recipe checks that need the loaded model."""

from __future__ import annotations

import shutil

import pytest
from datasets import Dataset

from gnivo_cli.errors import GnivoError, ModelNotFoundError, RecipeError
from gnivo_cli.models import loading
from gnivo_cli.models.checks import check_against_model, longest_prompt, lora_target_problem
from gnivo_cli.recipe.loader import recipe_from_dict

MODULES = ["", "model", "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "lm_head"]


def test_lora_targets_follow_peft_matching():
    assert lora_target_problem("all-linear", MODULES) is None
    assert lora_target_problem(["q_proj", "v_proj"], MODULES) is None
    assert lora_target_problem(["self_attn.q_proj"], MODULES) is None
    assert lora_target_problem(r".*\.(q|v)_proj", MODULES) is None
    problem = lora_target_problem(["q_proj", "query", "c_attn"], MODULES)
    assert problem.startswith("'query', 'c_attn' match no module; its modules are named lm_head, model, q_proj")
    assert lora_target_problem("attn", MODULES).startswith("the pattern 'attn' matches no module")


def _recipe(tmp_path, model_dir, **sections):
    raw = {
        "model": {"name": str(model_dir)},
        "rewards": ["math"],
        "data": {"synthetic": {"count": 4}},
        "algorithm": {"num_generations": 2},
        "training": {"per_device_batch_size": 2},
        **sections,
    }
    return recipe_from_dict(raw, source=None)


def test_checks_against_the_loaded_model(tmp_path, tiny_model_dir):
    model, tokenizer = loading.load_model_and_tokenizer(str(tiny_model_dir))
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": "What is 1 + 2?"}]}])
    longest = longest_prompt(tokenizer, dataset)
    assert longest == len(
        tokenizer.apply_chat_template(dataset[0]["prompt"], add_generation_prompt=True, tokenize=True)["input_ids"]
    )
    fits = _recipe(tmp_path, tiny_model_dir, generation={"max_new_tokens": 512 - longest})
    check_against_model(fits, model, tokenizer, dataset)
    too_long = _recipe(tmp_path, tiny_model_dir, generation={"max_new_tokens": 513 - longest})
    with pytest.raises(RecipeError, match=r"generation.max_new_tokens: .* make 513, beyond the model's context of 512"):
        check_against_model(too_long, model, tokenizer, dataset)
    bad_lora = _recipe(tmp_path, tiny_model_dir, lora={"enabled": True, "target_modules": ["c_attn"]})
    with pytest.raises(RecipeError, match=r"lora.target_modules: 'c_attn' matches no module"):
        check_against_model(bad_lora, model, tokenizer, dataset)


def test_safetensors_are_preferred_and_remote_code_warns(tmp_path, tiny_model_dir, monkeypatch, capsys):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "pytorch_model.bin").write_bytes(b"not a pickle: must never be read")
    seen = {}
    from transformers import AutoModelForCausalLM

    real = AutoModelForCausalLM.from_pretrained

    def spy(path, **kwargs):
        seen.update(kwargs)
        return real(path, **kwargs)

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", spy)
    loading.load_causal_lm(str(folder))
    assert seen["use_safetensors"] is True and seen["trust_remote_code"] is False
    assert "trust_remote_code" not in capsys.readouterr().err
    loading.load_causal_lm(str(folder), trust_remote_code=True)
    assert seen["trust_remote_code"] is True
    assert "warning: trust_remote_code is on" in capsys.readouterr().err


def test_broken_model_folders_are_one_line_errors(tmp_path, tiny_model_dir):
    no_tokenizer = tmp_path / "no-tokenizer"
    no_tokenizer.mkdir()
    shutil.copy(tiny_model_dir / "config.json", no_tokenizer)
    with pytest.raises(ModelNotFoundError, match="holds no tokenizer"):
        loading.load_tokenizer(str(no_tokenizer))
    truncated = tmp_path / "truncated"
    shutil.copytree(tiny_model_dir, truncated)
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelNotFoundError, match=r"could not load the model from .*truncated \(Safetensor") as info:
        loading.load_causal_lm(str(truncated))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("device", "message"),
    [("cdua", "not a device"), ("gpu", "not a device"), ("cuda:7", "CUDA GPU"), ("cuda", "CUDA GPU")],
)
def test_a_device_this_machine_lacks_is_refused_before_loading(device, message, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(GnivoError, match=rf"--device '{device}': .*{message}"):
        loading.check_device(device)
    loading.check_device("cpu")
