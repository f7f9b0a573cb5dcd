"""The `reward-model` reward on tiny sequence-classification models built from a config (no network)."""

from __future__ import annotations

import math

import pytest

from gnivo_cli.errors import GnivoError
from gnivo_cli.models.tiny import tiny_llama_config, tiny_tokenizer
from rewards.registry import load_reward, reward_param_problems

PROMPTS = ["What is 2 + 2?", "Name a colour.", "Say hi.", "Count to three, please, slowly and clearly."]
COMPLETIONS = ["4", "Blue, the colour of the sky.", "hi", "one two three"]


def _save_tiny_classifier(path, *, chat_template: bool, num_labels: int = 1):
    import torch
    from transformers import LlamaForSequenceClassification

    tokenizer = tiny_tokenizer()
    if not chat_template:
        tokenizer.chat_template = None
    torch.manual_seed(0)
    config = tiny_llama_config(tokenizer, num_labels=num_labels)
    LlamaForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def chat_rm(tmp_path_factory):
    return _save_tiny_classifier(tmp_path_factory.mktemp("rm-chat"), chat_template=True)


@pytest.fixture(scope="module")
def plain_rm(tmp_path_factory):
    return _save_tiny_classifier(tmp_path_factory.mktemp("rm-plain"), chat_template=False, num_labels=2)


def _reference_scores(path, texts, label=0, pair=None):
    """Scores computed by hand, one sequence at a time (no padding)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    scores = []
    for i, text in enumerate(texts):
        if pair is None:
            encoded = tokenizer(text, add_special_tokens=False, return_tensors="pt")
        else:
            encoded = tokenizer(text, pair[i], return_tensors="pt")
        encoded.pop("token_type_ids", None)
        with torch.inference_mode():
            scores.append(model(**encoded).logits[0, label].item())
    return scores


def test_scores_with_the_models_chat_template(chat_rm):
    from transformers import AutoTokenizer

    reward = load_reward("reward-model", {"model": str(chat_rm), "batch_size": 3, "device": "cpu"})
    scores = reward(PROMPTS, COMPLETIONS)
    tokenizer = AutoTokenizer.from_pretrained(chat_rm)
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}, {"role": "assistant", "content": c}], tokenize=False
        )
        for p, c in zip(PROMPTS, COMPLETIONS, strict=True)
    ]
    assert "<|im_start|>assistant" in texts[0]
    assert scores == pytest.approx(_reference_scores(chat_rm, texts), abs=1e-4)


def test_batching_and_padding_do_not_change_scores(chat_rm):
    one = load_reward("reward-model", {"model": str(chat_rm), "batch_size": 1})
    four = load_reward("reward-model", {"model": str(chat_rm), "batch_size": 4})
    assert one(PROMPTS, COMPLETIONS) == pytest.approx(four(PROMPTS, COMPLETIONS), abs=1e-4)


def test_chat_prompts_as_message_lists(chat_rm):
    reward = load_reward("reward-model", {"model": str(chat_rm)})
    as_messages = [[{"role": "user", "content": p}] for p in PROMPTS]
    completions = [[{"role": "assistant", "content": c}] for c in COMPLETIONS]
    assert reward(as_messages, completions) == pytest.approx(reward(PROMPTS, COMPLETIONS), abs=1e-5)


def test_without_a_chat_template_prompt_and_completion_are_a_text_pair(plain_rm):
    reward = load_reward("reward-model", {"model": str(plain_rm), "label_index": 1, "scale": 2.0})
    scores = reward(PROMPTS, COMPLETIONS)
    expected = _reference_scores(plain_rm, PROMPTS, label=1, pair=COMPLETIONS)
    assert scores == pytest.approx([2.0 * s for s in expected], abs=1e-4)
    assert all(math.isfinite(s) for s in scores)


def test_the_model_loads_lazily_on_first_call(chat_rm, monkeypatch):
    from transformers import AutoModelForSequenceClassification

    assert reward_param_problems("reward-model", {"model": "/no/such/model"}) == []  # validation loads nothing
    loads = []
    real = AutoModelForSequenceClassification.from_pretrained
    monkeypatch.setattr(
        AutoModelForSequenceClassification, "from_pretrained", lambda *a, **k: loads.append(a) or real(*a, **k)
    )
    reward = load_reward("reward-model", {"model": str(chat_rm)})
    assert loads == []
    reward(PROMPTS[:1], COMPLETIONS[:1])
    reward(PROMPTS[:1], COMPLETIONS[:1])
    assert len(loads) == 1  # loaded once, on the first call
    reward.close()
    reward(PROMPTS[:1], COMPLETIONS[:1])
    assert len(loads) == 2  # closing released it


def test_a_missing_model_is_a_clear_error_at_first_call(tmp_path):
    reward = load_reward("reward-model", {"model": str(tmp_path / "missing")})
    with pytest.raises(GnivoError, match="cannot load reward model"):
        reward(PROMPTS[:1], COMPLETIONS[:1])


def test_label_index_beyond_the_models_labels(chat_rm):
    reward = load_reward("reward-model", {"model": str(chat_rm), "label_index": 3})
    with pytest.raises(GnivoError, match=r"'label_index' is 3 but .* has 1 output label"):
        reward(PROMPTS[:1], COMPLETIONS[:1])


def test_chat_format_requires_a_template(plain_rm):
    reward = load_reward("reward-model", {"model": str(plain_rm), "input_format": "chat"})
    with pytest.raises(GnivoError, match="has no chat template"):
        reward(PROMPTS[:1], COMPLETIONS[:1])


def test_trust_remote_code_is_off_unless_asked(chat_rm, monkeypatch):
    import transformers

    seen = []
    original = transformers.AutoModelForSequenceClassification.from_pretrained

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", spy)
    load_reward("reward-model", {"model": str(chat_rm)})(PROMPTS[:1], COMPLETIONS[:1])
    load_reward("reward-model", {"model": str(chat_rm), "trust_remote_code": True, "require_safetensors": True})(
        PROMPTS[:1], COMPLETIONS[:1]
    )
    assert seen[0]["trust_remote_code"] is False
    assert seen[0]["use_safetensors"] is None  # transformers prefers safetensors when both exist
    assert seen[1]["trust_remote_code"] is True
    assert seen[1]["use_safetensors"] is True


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "parameter 'model' is required"),
        ({"model": "x", "dtype": "float8"}, "parameter 'dtype' must be one of"),
        ({"model": "x", "batch_size": 0}, "'batch_size' must be >= 1"),
        ({"model": "x", "trust_remote_code": "yes"}, "parameter 'trust_remote_code' must be bool"),
        ({"model": "x", "devise": "cpu"}, "unknown parameter 'devise'; did you mean 'device'? (known:"),
    ],
)
def test_param_problems(params, message):
    problems = reward_param_problems("reward-model", params)
    assert len(problems) == 1
    assert problems[0].startswith("reward 'reward-model': ")
    assert message in problems[0]


@pytest.mark.parametrize("recipe", ["helpful.yaml", "tldr.yaml"])
def test_text_task_recipes_name_valid_reward_params(recipe):
    from pathlib import Path

    import yaml

    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "recipes" / recipe).read_text())
    (spec,) = raw["rewards"]
    assert spec["name"] == "reward-model"
    assert reward_param_problems(spec["name"], spec["params"]) == []
    assert "/" in spec["params"]["model"]  # a public hub id


def test_in_training_the_chat_template_sees_the_roles(chat_rm):
    # What `gnivo train` passes: system + user messages, the completion as an assistant message.
    from transformers import AutoTokenizer

    from gnivo_cli.algorithms.reward_functions import TrlRewardFunction

    prompts = [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": p}] for p in PROMPTS]
    completions = [[{"role": "assistant", "content": c}] for c in COMPLETIONS]
    function = TrlRewardFunction(load_reward("reward-model", {"model": str(chat_rm), "device": "cpu"}))
    scores = function(prompts, completions, completion_ids=[[1]] * 4)
    tokenizer = AutoTokenizer.from_pretrained(chat_rm)
    texts = [tokenizer.apply_chat_template([*p, *c], tokenize=False) for p, c in zip(prompts, completions, strict=True)]
    assert "<|im_start|>system\nBe brief.<|im_end|>" in texts[0]
    assert scores == pytest.approx(_reference_scores(chat_rm, texts), abs=1e-4)
