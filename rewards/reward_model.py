"""The `reward-model` reward: score prompt + completion with a sequence-classification model.

Any `AutoModelForSequenceClassification` checkpoint (hub id or local directory) works. The input is
built the way the reward model expects it:

- ``chat``: the reward model's own chat template over [prompt messages..., assistant completion];
- ``pair``: prompt and completion as a text pair (how e.g. OpenAssistant's DeBERTa reward models were
  trained; for tokenizers without a pair template this is plain concatenation of the token ids);
- ``concat``: prompt + completion as one string.
``auto`` (the default) uses ``chat`` when the tokenizer has a chat template, else ``pair``.

The model loads on the first call, never at construction, so validating a recipe costs nothing.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, Literal

from gnivo_cli.errors import GnivoError
from gnivo_cli.models.devices import pick_device, torch_dtype
from rewards.base import Reward, RewardParams, as_messages, as_text, render_chat


class RewardModelReward(Reward):
    """Scores each prompt + completion with a sequence-classification reward model."""

    description = "Score from a sequence-classification reward model (hub id or local path), chat template aware."

    @dataclasses.dataclass(frozen=True)
    class Params(RewardParams):
        #: Hub id or local directory of the reward model (required).
        model: str = ""
        #: Hub revision (branch, tag or commit) to pin.
        revision: str | None = None
        #: "auto" (cuda, then mps, then cpu), or a torch device such as "cuda:1".
        device: str = "auto"
        #: "auto": bfloat16 on GPUs that support it, float32 elsewhere.
        dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
        #: Sequences per forward pass.
        batch_size: int = 8
        #: Longer inputs are truncated to this many tokens.
        max_length: int = 2048
        #: How prompt and completion become the model's input: see the module docstring.
        input_format: Literal["auto", "chat", "pair", "concat"] = "auto"
        #: Which output logit is the reward (0 for the usual single-logit reward model).
        label_index: int = 0
        #: Multiplies the score. Rewards feed softmax(R / alpha) in GN-IVO, so their scale matters.
        scale: float = 1.0
        #: Run code shipped with the model. Off unless you trust its authors.
        trust_remote_code: bool = False
        #: Refuse checkpoints without safetensors weights (safetensors are always preferred).
        require_safetensors: bool = False

        def problems(self) -> list[str]:
            problems = []
            if not self.model.strip():
                problems.append("parameter 'model' is required: a hub id or a local directory")
            if self.batch_size < 1:
                problems.append(f"parameter 'batch_size' must be >= 1, got {self.batch_size}")
            if self.max_length < 8:
                problems.append(f"parameter 'max_length' must be >= 8, got {self.max_length}")
            if self.label_index < 0:
                problems.append(f"parameter 'label_index' must be >= 0, got {self.label_index}")
            return problems

    params: Params

    def __init__(self, params: Params | None = None, *, name: str | None = None):
        super().__init__(params, name=name or "reward-model")
        self._model: Any = None
        self._tokenizer: Any = None
        self._device: Any = None
        self._format: str | None = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        params = self.params
        device = torch.device(pick_device(params.device))
        dtype = torch_dtype(params.dtype, device)
        common = {"revision": params.revision, "trust_remote_code": params.trust_remote_code}
        try:
            tokenizer = AutoTokenizer.from_pretrained(params.model, **common)
            model = AutoModelForSequenceClassification.from_pretrained(
                params.model, dtype=dtype, use_safetensors=True if params.require_safetensors else None, **common
            )
        except (OSError, ValueError) as error:
            raise GnivoError(f"reward {self.name!r}: cannot load reward model {params.model!r}: {error}") from error
        if model.config.num_labels <= params.label_index:
            raise GnivoError(
                f"reward {self.name!r}: parameter 'label_index' is {params.label_index} but {params.model!r} "
                f"has {model.config.num_labels} output label(s)"
            )
        # Batches are padded; the model finds each sequence's last token through pad_token_id.
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        fmt = params.input_format
        if fmt == "auto":
            fmt = "chat" if getattr(tokenizer, "chat_template", None) else "pair"
        elif fmt == "chat" and not getattr(tokenizer, "chat_template", None):
            raise GnivoError(f"reward {self.name!r}: input_format is 'chat' but {params.model!r} has no chat template")
        model.to(device).eval()
        self._model, self._tokenizer, self._device, self._format = model, tokenizer, device, fmt

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: list[Any]) -> list[float | None]:
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
        with self._lock:
            if self._model is None:
                self._load()
            import torch

            scores: list[float | None] = []
            size = self.params.batch_size
            for start in range(0, len(completions), size):
                batch = self._encode(prompts[start : start + size], completions[start : start + size])
                with torch.inference_mode():
                    logits = self._model(**batch).logits
                column = logits[:, self.params.label_index].float() * self.params.scale
                scores.extend(column.tolist())
            return scores

    def _encode(self, prompts: list[Any], completions: list[Any]) -> Any:
        tokenizer, max_length = self._tokenizer, self.params.max_length
        options = {"padding": True, "truncation": True, "max_length": max_length, "return_tensors": "pt"}
        if self._format == "chat":
            texts = [
                tokenizer.apply_chat_template(
                    [*as_messages(prompt), {"role": "assistant", "content": as_text(completion)}], tokenize=False
                )
                for prompt, completion in zip(prompts, completions, strict=True)
            ]
            # The template already holds the special tokens (BOS and the like).
            batch = tokenizer(texts, add_special_tokens=False, **options)
        elif self._format == "pair":
            batch = tokenizer([render_chat(p) for p in prompts], [as_text(c) for c in completions], **options)
        else:
            texts = [render_chat(p) + as_text(c) for p, c in zip(prompts, completions, strict=True)]
            batch = tokenizer(texts, **options)
        if "token_type_ids" in batch and not _uses_token_types(self._model):
            del batch["token_type_ids"]  # models without segment embeddings reject them
        return batch.to(self._device)

    def close(self) -> None:
        with self._lock:
            self._model = self._tokenizer = None


def _uses_token_types(model: Any) -> bool:
    return getattr(model.config, "type_vocab_size", 0) > 1
