"""The policy and its reference, loaded once, and their per-token log-probabilities over completions.

Each forward pass is batched and runs once through the policy and once through the reference. Completions of
one prompt share the prompt's pass (its key/value cache copied to each); single prompts are sorted by length
and batched, left-padded. With a LoRA policy the
reference pass is the same model under peft's `disable_adapter()`: one load, no second copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.values.target import ADAPTER_DISABLED, ValueTarget

#: Sequences per forward pass.
DEFAULT_BATCH_SIZE = 8


@dataclass(frozen=True)
class SequenceLogProbs:
    """log π(y_j | x, y<j) of each completion token, under the policy and under the reference."""

    policy: list[float]
    reference: list[float]


class ValueScorer:
    """Holds the policy (and the reference, unless it is the policy with its adapter disabled)."""

    def __init__(self, policy: Any, tokenizer: Any, reference: Any = None, *, batch_size: int = DEFAULT_BATCH_SIZE):
        if reference is None and not hasattr(policy, "disable_adapter"):
            raise GnivoError(
                "the policy has no adapter to disable, so it cannot be its own reference; pass --ref MODEL"
            )
        self.policy = policy.eval()
        self.reference = reference.eval() if reference is not None else None
        self.tokenizer = tokenizer
        self.batch_size = max(1, batch_size)

    @classmethod
    def load(
        cls,
        target: ValueTarget,
        *,
        dtype: str | None = None,
        device: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> ValueScorer:
        """Load the target's policy and reference; a reference with another tokenizer is refused."""
        from gnivo_cli.models.loading import load_causal_lm, load_tokenizer

        device = device or _default_device()
        tokenizer = load_tokenizer(target.policy)
        policy = load_causal_lm(target.policy, dtype=dtype, device=device)
        reference = None
        if target.reference != ADAPTER_DISABLED:
            check_same_tokenizer(tokenizer, load_tokenizer(target.reference), target.policy, target.reference)
            reference = load_causal_lm(target.reference, dtype=dtype, device=device)
        elif not hasattr(policy, "disable_adapter"):
            raise GnivoError(f"{target.policy}: not an adapter, so it cannot be its own reference; pass --ref MODEL")
        return cls(policy, tokenizer, reference, batch_size=batch_size)

    @property
    def context_length(self) -> int | None:
        from gnivo_cli.models.checks import context_length

        lengths = [n for n in (context_length(self.policy), context_length(self.reference)) if n is not None]
        return min(lengths, default=None)

    def log_probs(
        self,
        sequences: Sequence[tuple[Sequence[int], Sequence[int]]],
        on_batch: Callable[[int], None] | None = None,
    ) -> list[SequenceLogProbs]:
        """Per-token log-probs of each (prompt ids, completion ids) under the policy and the reference;
        `on_batch(n)` after each batch of n sequences.

        Completions that share a prompt are read together: the prompt once, its cache copied to each of them
        (K completions of one prompt cost one prompt pass, not K). Prompts with one completion each are batched
        side by side instead.
        """
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, (prompt, _) in enumerate(sequences):
            groups.setdefault(tuple(prompt), []).append(index)
        size = self.batch_size
        batches = [
            (self._shared_prompt_logps, indices[start : start + size])
            for indices in groups.values()
            if len(indices) > 1
            for start in range(0, len(indices), size)
        ]
        singles = sorted(
            (indices[0] for indices in groups.values() if len(indices) == 1),
            key=lambda i: -(len(sequences[i][0]) + len(sequences[i][1])),
        )
        batches += [(self._batch_logps, singles[start : start + size]) for start in range(0, len(singles), size)]
        results: list[SequenceLogProbs | None] = [None] * len(sequences)
        for read, indices in batches:
            batch = [sequences[i] for i in indices]
            policy = read(self.policy, batch)
            with self._reference() as reference:
                ref = read(reference, batch)
            for index, p, r in zip(indices, policy, ref, strict=True):
                results[index] = SequenceLogProbs(p, r)
            if on_batch is not None:
                on_batch(len(batch))
        return [result for result in results if result is not None]

    def _shared_prompt_logps(
        self, model: Any, batch: Sequence[tuple[Sequence[int], Sequence[int]]]
    ) -> list[list[float]]:
        """Completions of one prompt: the prompt's pass once, its cache repeated for each completion."""
        import torch

        prompt = list(batch[0][0])
        completions = [list(completion) for _, completion in batch]
        device = next(model.parameters()).device
        with torch.inference_mode():
            head = model(input_ids=torch.tensor([prompt], device=device), use_cache=True, logits_to_keep=1)
            first = head.logits[0, -1].float().log_softmax(-1)  # predicts every completion's first token
            width = max(len(c) for c in completions) - 1  # the last token of a completion predicts nothing
            rest = None
            if width > 0:
                name = _cache_kwarg(model)
                cache = getattr(head, name)  # the output names its cache as the forward's argument does
                cache.batch_repeat_interleave(len(completions))
                pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
                ids = torch.full((len(completions), width), pad, dtype=torch.long)
                mask = torch.zeros((len(completions), len(prompt) + width), dtype=torch.long)
                mask[:, : len(prompt)] = 1
                for row, completion in enumerate(completions):  # right padding after the shared prompt
                    ids[row, : len(completion) - 1] = torch.tensor(completion[:-1], dtype=torch.long)
                    mask[row, len(prompt) : len(prompt) + len(completion) - 1] = 1
                positions = torch.arange(len(prompt), len(prompt) + width).expand(len(completions), -1)
                rest = model(
                    input_ids=ids.to(device),
                    attention_mask=mask.to(device),
                    position_ids=positions.to(device),
                    **{name: cache},
                ).logits
        out = []
        for row, completion in enumerate(completions):
            if not completion:
                out.append([])
                continue
            picked = [float(first[completion[0]])]
            if len(completion) > 1:
                rows = rest[row, : len(completion) - 1].float()
                targets = torch.tensor(completion[1:], device=rows.device, dtype=torch.long)
                picked += (rows.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(rows, -1)).tolist()
            out.append(picked)
        return out

    @contextmanager
    def _reference(self) -> Iterator[Any]:
        if self.reference is not None:
            yield self.reference
            return
        with self.policy.disable_adapter():
            yield self.policy

    def _batch_logps(self, model: Any, batch: Sequence[tuple[Sequence[int], Sequence[int]]]) -> list[list[float]]:
        """Left-padded, so every completion ends at the last position: only the last (longest completion + 1)
        positions need logits, not the whole prompt's (the vocabulary makes logits the largest tensor)."""
        import torch

        lengths = [len(prompt) + len(completion) for prompt, completion in batch]
        width = max(lengths)
        keep = max(len(completion) for _, completion in batch) + 1
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (prompt, completion) in enumerate(batch):
            ids[row, width - lengths[row] :] = torch.tensor([*prompt, *completion], dtype=torch.long)
            mask[row, width - lengths[row] :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # each row counts from 0 at its first real token
        device = next(model.parameters()).device
        with torch.inference_mode():
            logits = model(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                position_ids=positions.to(device),
                logits_to_keep=min(keep, width),
            ).logits
        out = []
        for row, (_, completion) in enumerate(batch):
            # The logits at a position predict the next token: a completion of n tokens is read from the n
            # positions before the last (the last predicts past the end).
            length = len(completion)
            rows = logits[row, logits.shape[1] - length - 1 : logits.shape[1] - 1].float()
            targets = torch.tensor(list(completion), device=rows.device, dtype=torch.long)
            picked = rows.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(rows, dim=-1)
            out.append(picked.double().cpu().tolist())
        return out

    def close(self) -> None:
        self.policy = self.reference = None


def _cache_kwarg(model: Any) -> str:
    """transformers renamed `past_key_values` to `cache`; take whichever this model's forward has."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def check_same_tokenizer(policy: Any, reference: Any, policy_name: str, reference_name: str) -> None:
    """Log-ratios compare the same token ids under both models: their vocabularies must be the same."""
    mine, theirs = policy.get_vocab(), reference.get_vocab()
    if mine == theirs:
        return
    if len(mine) != len(theirs):
        detail = f"{len(mine)} tokens against {len(theirs)}"
    else:
        token = next(t for t in sorted(mine) if theirs.get(t) != mine[t])
        detail = f"token {token!r} is id {mine[token]} in one and {theirs.get(token)} in the other"
    raise GnivoError(
        f"the reference {reference_name} has another tokenizer than the policy {policy_name} ({detail}); "
        "log-ratios need the same tokens under both: pass the model the policy was trained from as --ref"
    )


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
