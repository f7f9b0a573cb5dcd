"""Choosing one of k samples without a reward model, in `gnivo eval`: by majority vote (maj@k), and by the
policy's implicit value against its reference (a GN-IVO run read as a value model, docs/values.md).

- maj@k: samples vote with their extracted answers. Every sample the math checker judged equal to the gold
  answer votes for it; the others vote by their answer after the checker's cheap normalization
  (`rewards.math.quick.clean`; exact numbers by value, so `0.5` and `\\frac{1}{2}` are one answer);
  samples without an answer do not vote; ties are broken uniformly at random.
- value_min@k, value_final@k: the sample with the highest lowest-step value (ImplicitPRM's rule), or the
  highest final value, of k. Each sample's values are stored with it in samples.jsonl as it is judged
  (`value_min`, `value_final`, `value_lowest_step`), so a resumed evaluation keeps them. Two forward passes
  per sample, policy and reference; with a LoRA run the reference pass is the same model, adapter disabled.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from contextlib import ExitStack
from typing import Any

from gnivo_cli.evaluation.passk import best_of_k, majority_at_k

#: What every sample judged correct votes for: the gold answer, however it was written.
GOLD = ("gold",)
VALUE_FIELDS = ("value_min", "value_final", "value_lowest_step")


def answer_key(row: dict[str, Any]) -> Hashable | None:
    """The answer a sample votes for; None when it gave none."""
    answer = row.get("extracted_answer")
    if answer is None:
        return None
    if row.get("correct"):
        return GOLD
    from rewards.math.quick import clean, exact_number

    text = clean(str(answer))
    number = exact_number(text)
    return ("number", number[0]) if number is not None else ("text", text)


def selection_ks(pass_at: Sequence[int], n: int) -> list[int]:
    """The k reported for maj@k and reranking: every --pass-at k and n itself, above 1 (at 1 they are pass@1)."""
    return sorted({k for k in (*pass_at, n) if 1 < k <= n})


def majority_scores(by_problem: Sequence[Sequence[dict[str, Any]]], ks: Sequence[int]) -> dict[str, float]:
    """maj@k for each k, averaged over problems."""
    scores = {}
    for k in ks:
        total = 0.0
        for rows in by_problem:
            keys = [answer_key(row) for row in rows]
            wrong: dict[Hashable, int] = {}
            for key in keys:
                if key is not None and key != GOLD:
                    wrong[key] = wrong.get(key, 0) + 1
            total += majority_at_k(keys.count(GOLD), list(wrong.values()), keys.count(None), k)
        scores[f"maj@{k}"] = total / len(by_problem)
    return scores


def value_scores(by_problem: Sequence[Sequence[dict[str, Any]]], ks: Sequence[int]) -> dict[str, float]:
    """Accuracy of the sample picked from k by its lowest step value, and by its final value."""
    scores = {}
    for field, name in (("value_min", "value_min"), ("value_final", "value_final")):
        for k in ks:
            picked = [
                best_of_k([row[field] for row in rows], [float(bool(row["correct"])) for row in rows], k)
                for rows in by_problem
            ]
            scores[f"{name}@{k}"] = sum(picked) / len(picked)
    return scores


class SampleValues:
    """Adds each judged sample's implicit values to its row (policy and reference loaded once)."""

    def __init__(self, scorer: Any, target: Any):
        self.scorer, self.target = scorer, target
        self._texts: dict[int, str] = {}

    @classmethod
    def start(cls, settings: Any, generator: Any, stack: ExitStack) -> SampleValues:
        """The scorer for `settings.value_ref`, sharing the generator's loaded model where it has one."""
        from gnivo_cli.models.loading import load_causal_lm, load_tokenizer
        from gnivo_cli.values.scorer import ValueScorer, check_same_tokenizer
        from gnivo_cli.values.target import ADAPTER_DISABLED, resolve_target

        ref = None if settings.value_ref == "own" else settings.value_ref
        target = resolve_target(settings.model, ref=ref)
        model, tokenizer = getattr(generator, "model", None), getattr(generator, "tokenizer", None)
        if model is None or tokenizer is None:
            scorer = ValueScorer.load(target, dtype=settings.dtype, device=settings.device)
        elif target.reference == ADAPTER_DISABLED:
            scorer = ValueScorer(model, tokenizer)
        else:
            check_same_tokenizer(tokenizer, load_tokenizer(target.reference), target.policy, target.reference)
            device = str(next(model.parameters()).device)
            scorer = ValueScorer(
                model, tokenizer, load_causal_lm(target.reference, dtype=settings.dtype, device=device)
            )
        stack.callback(scorer.close)
        return cls(scorer, target)

    def annotate(self, rows: list[dict[str, Any]], batch: Sequence[Any]) -> None:
        from gnivo_cli.algorithms.gnivo.step_boundaries import step_ends
        from gnivo_cli.values.maths import completion_values

        logps = self.scorer.log_probs([(c.request.prompt_ids, list(c.token_ids)) for c in batch])
        for row, completion, lp in zip(rows, batch, logps, strict=True):
            tokens = [self._text(token) for token in completion.token_ids]
            ends = step_ends(tokens, self.target.separator) if self.target.unit == "step" else None
            values = completion_values(lp.policy, lp.reference, ends, scale=self.target.scale)
            row.update(
                value_min=round(values.min_step_value, 6),
                value_final=round(values.final_value, 6),
                value_lowest_step=values.lowest_step,
            )

    def describe(self) -> dict[str, Any]:
        return {key: self.target.describe()[key] for key in ("reference", "scale", "unit", "step_separator")}

    def _text(self, token: int) -> str:
        if token not in self._texts:
            self._texts[token] = self.scorer.tokenizer.decode([token])
        return self._texts[token]
