"""Batched generation with transformers' `generate`.

Requests are sorted by prompt length and cut into batches of `batch_size` sequences (the samples of a
problem sit side by side, several problems per batch), left-padded, decoded with the KV cache; each
sequence stops at its end-of-sequence token. A prompt shared by several samples is encoded once and
its KV cache copied to each of them, so N samples cost one prefill, not N.

Sampling is done by `SeededSampler` instead of `generate`'s own sampler: `generate` draws every row
from one global random stream, so a sample would depend on the batch it landed in. Here each row draws
from its own generator, seeded by (seed, problem, sample index), so batching, resuming and the batch
size leave the samples unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from gnivo_cli.evaluation.generation import Completion, SampleRequest, derive_seed
from gnivo_cli.evaluation.settings import DEFAULT_BATCH_SIZE, SamplingSettings
from gnivo_cli.models.devices import pick_device

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

_NUCLEUS_CANDIDATES = 256


class SeededSampler:
    """A logits processor that samples each row with temperature and top-p from the row's own random
    generator, and returns scores that are -inf everywhere but at the drawn token (so greedy selection
    in `generate` picks it)."""

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float):
        import torch

        if temperature <= 0:
            raise ValueError("SeededSampler needs a positive temperature (use greedy decoding for 0)")
        self.temperature = temperature
        self.top_p = top_p
        self.generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            # The nucleus nearly always lies within the few most likely tokens: sorting only those
            # is much cheaper than sorting the vocabulary, which remains the fallback.
            probs_top, order = probs.topk(min(_NUCLEUS_CANDIDATES, probs.shape[-1]), dim=-1)
            if bool((probs_top.sum(dim=-1) < self.top_p).any()):
                probs_top, order = probs.sort(dim=-1, descending=True)
            probs = probs_top
            # Keep the smallest prefix whose mass reaches top_p (the first token always stays).
            probs = probs.masked_fill(probs.cumsum(dim=-1) - probs >= self.top_p, 0.0)
        else:
            order = None
        cdf = probs.cumsum(dim=-1)
        # One uniform draw per row from its own stream; inverse-CDF sampling turns it into a token.
        uniforms = torch.stack([torch.rand((), generator=g) for g in self.generators]).to(cdf.device)
        targets = (uniforms * cdf[:, -1]).unsqueeze(-1)
        picks = torch.searchsorted(cdf, targets, right=True).clamp_(max=cdf.shape[-1] - 1)
        tokens = order.gather(-1, picks) if order is not None else picks
        chosen = torch.full_like(scores, float("-inf"))
        return chosen.scatter_(-1, tokens, 0.0)


class HFGenerator:
    """The transformers backend: `generate` over batches of requests."""

    name = "hf"

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        sampling: SamplingSettings,
        *,
        batch_size: int | None = None,
        eos_token_ids: Sequence[int] | None = None,
        share_prompts: bool = True,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.sampling = sampling
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE
        self.eos_token_ids = list(eos_token_ids) if eos_token_ids is not None else _eos_ids(model, tokenizer)
        self.share_prompts = share_prompts
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_token_ids[0]

    @classmethod
    def load(
        cls,
        model: str,
        sampling: SamplingSettings,
        *,
        batch_size: int | None = None,
        dtype: str | None = None,
        device: str | None = None,
    ) -> HFGenerator:
        from gnivo_cli.models.loading import load_model_and_tokenizer

        lm, tokenizer = load_model_and_tokenizer(model, dtype=dtype, device=pick_device(device))
        return cls(lm, tokenizer, sampling, batch_size=batch_size)

    def plan(self, requests: Sequence[SampleRequest]) -> list[list[SampleRequest]]:
        """Batches of requests, longest prompts first (an out-of-memory error shows up at once);
        equal lengths keep their order, so a problem's samples stay together."""
        ordered = sorted(requests, key=lambda r: -len(r.prompt_ids))
        return [ordered[i : i + self.batch_size] for i in range(0, len(ordered), self.batch_size)]

    def generate(self, requests: Sequence[SampleRequest]) -> Iterator[list[Completion]]:
        for batch in self.plan(requests):
            yield self.generate_batch(batch)

    def generate_batch(self, batch: Sequence[SampleRequest]) -> list[Completion]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        # The samples of a problem share their prompt: each distinct prompt is encoded once.
        distinct: dict[tuple[int, ...], int] = {}
        source_row = [distinct.setdefault(tuple(r.prompt_ids), len(distinct)) for r in batch]
        width = max(len(r.prompt_ids) for r in batch)
        input_ids, attention_mask = self._left_pad([r.prompt_ids for r in batch], width)

        processors = LogitsProcessorList()
        if not self.sampling.greedy:
            seeds = [derive_seed(self.sampling.seed, r.problem_id, r.sample_index) for r in batch]
            processors.append(SeededSampler(seeds, self.sampling.temperature, self.sampling.top_p))
        config = GenerationConfig(
            max_new_tokens=self.sampling.max_new_tokens,
            do_sample=False,  # the SeededSampler above does the sampling
            # Neutral values, so a model's own generation_config cannot change what was asked for.
            temperature=1.0,
            top_p=1.0,
            top_k=None,
            repetition_penalty=1.0,
            eos_token_id=self.eos_token_ids,
            pad_token_id=self.pad_token_id,
            # With a static cache on a GPU, `generate` would compile the model, again for every new batch
            # shape (each batch has its own width and length): slower than it saves for one evaluation.
            disable_compile=True,
        )
        with torch.inference_mode():
            if self.share_prompts:
                cache = self._prefilled_cache(list(distinct), source_row, width)
            else:
                cache = self._prefilled_cache([r.prompt_ids for r in batch], list(range(len(batch))), width)
            output = self.model.generate(
                input_ids=input_ids.to(self.model.device),
                attention_mask=attention_mask.to(self.model.device),
                generation_config=config,
                logits_processor=processors,
                **{self._cache_kwarg: cache},
            )
        generated = output[:, width:].tolist()
        return [self._completion(request, ids) for request, ids in zip(batch, generated, strict=True)]

    def _prefilled_cache(self, prompts: list[Sequence[int]], source_row: list[int], width: int) -> Any:
        """A preallocated KV cache holding every prompt but its last token (`generate` starts from it).

        Each distinct prompt is encoded once and copied to every row that uses it (`source_row`). The
        cache is static: `generate`'s default cache grows by concatenation, copying all of itself at
        every step, which dominated decoding time on CPU.
        """
        import torch
        from transformers import DynamicCache, StaticCache

        device = self.model.device
        cache = StaticCache(config=self.model.config, max_cache_len=width + self.sampling.max_new_tokens)
        if width < 2:
            return cache
        ids, mask = self._left_pad(prompts, width)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # as `generate` derives them from the mask
        prompt_cache = DynamicCache(config=self.model.config)
        self.model(
            input_ids=ids[:, :-1].to(device),
            attention_mask=mask[:, :-1].to(device),
            position_ids=positions[:, :-1].to(device),
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kwarg: prompt_cache},
        )
        rows = torch.tensor(source_row, device=device)
        for index, layer in enumerate(prompt_cache.layers):
            cache.update(layer.keys[rows], layer.values[rows], index)
        return cache

    def _left_pad(self, prompts: Sequence[Sequence[int]], width: int) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        ids = torch.full((len(prompts), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):  # left padding: every prompt ends where generation starts
            ids[row, width - len(prompt) :] = torch.tensor(list(prompt), dtype=torch.long)
            mask[row, width - len(prompt) :] = 1
        return ids, mask

    @property
    def _cache_kwarg(self) -> str:
        # transformers renamed `past_key_values` to `cache`; accept either generation.
        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"

    def _completion(self, request: SampleRequest, ids: list[int]) -> Completion:
        stops = set(self.eos_token_ids)
        end = next((i for i, token in enumerate(ids) if token in stops), None)
        kept = ids if end is None else ids[: end + 1]
        return Completion(
            request=request,
            text=self.tokenizer.decode(kept, skip_special_tokens=True),
            num_tokens=len(kept),
            finish_reason="length" if end is None else "stop",
            token_ids=tuple(kept),
        )

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    # A chat model ends its turn with the generation config's eos (often several ids).
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = configured if isinstance(configured, list) else [configured] if configured is not None else []
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    if not ids:
        raise ValueError("the model and tokenizer define no end-of-sequence token")
    return ids
