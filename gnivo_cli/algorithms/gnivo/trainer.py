"""GNIVOTrainer: trl's GRPOTrainer with the GN-IVO loss.

Everything but the loss (generation, reward scoring, reference model, vLLM, checkpoints) is trl's.
Three trl methods are overridden, the fewest the loss allows:
- `_calculate_rewards`: keep the raw rewards (GN-IVO targets need R, not GRPO's advantages);
- `_prepare_inputs`: attach them to the batch and shuffle whole groups, so all K members meet in one
  loss call (trl shuffles single rows);
- `_compute_loss`: the pure `gnivo_loss_terms`, and its own metrics.
Every private trl name relied on is listed in tests/unit/test_trl_canary.py.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from trl import GRPOTrainer
from trl.trainer.utils import split_tensor_dict

from gnivo_cli.algorithms.baselines import RolloutAccountingMixin
from gnivo_cli.algorithms.gnivo.config import GNIVOConfig
from gnivo_cli.algorithms.gnivo.group_batching import shuffle_groups
from gnivo_cli.algorithms.gnivo.loss import (
    WeightOverflowError,
    combine_rewards,
    gnivo_loss_terms,
    group_weights,
    masked_k3_kl,
)
from gnivo_cli.algorithms.gnivo.step_boundaries import step_ends
from gnivo_cli.errors import GnivoError

__all__ = ["GNIVOConfig", "GNIVOTrainer"]


class GNIVOTrainer(RolloutAccountingMixin, GRPOTrainer):
    """Group-Normalized Implicit Value Optimization on top of trl's GRPOTrainer."""

    _tag_names: ClassVar[list[str]] = ["trl", "gnivo"]
    _name = "GN-IVO"

    def __init__(self, model, reward_funcs, args: GNIVOConfig | None = None, **kwargs):
        if not isinstance(args, GNIVOConfig):
            raise ValueError("GNIVOTrainer needs a GNIVOConfig")
        self._init_accounting()
        self._batch_rewards: torch.Tensor | None = None  # all processes' rewards of the batch being scored
        super().__init__(model, reward_funcs, args=args, **kwargs)
        self._prefix_generator = torch.Generator().manual_seed(args.seed)
        self._group_generator = torch.Generator().manual_seed(args.seed + 1)
        self._token_texts: dict[int, str] = {}

    # -- rollout: keep raw rewards, shuffle whole groups --------------------------------------------------

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        # trl gathers every process's rows, grouped by prompt: combine before slicing to this process.
        combined = combine_rewards(rewards_per_func, self.reward_weights, self.num_generations)
        if not torch.isfinite(combined / self.args.alpha).all():  # each reward fits float32; R/alpha may not
            from gnivo_cli.errors import GnivoError

            raise GnivoError(
                f"step {self.state.global_step + 1}: the weighted rewards reach {combined.abs().max().item():g}, "
                f"which divided by algorithm.alpha ({self.args.alpha:g}) is beyond float32, the precision of the "
                "GN-IVO targets; scale the rewards down (or raise algorithm.alpha)"
            )
        self._batch_rewards = combined
        return rewards_per_func

    def target_weights(self) -> list[float]:
        """The GN-IVO target weight w_i of each completion of the batch being scored (all processes' rows, in
        trl's order), as the loss computes it; read by completions.jsonl."""
        try:
            weights = group_weights(
                self._batch_rewards, group_size=self.num_generations, alpha=self.args.alpha, weights=self.args.weights
            )
        except WeightOverflowError as error:  # the rewards, not a bug: one line, as in the loss
            raise GnivoError(f"step {self.state.global_step + 1}: {error}") from error
        return weights.reshape(-1).tolist()

    def _generate_with_rewards(self, generation_batch: dict[str, Any]) -> dict[str, Any]:
        batch = self._generate_and_score_completions(generation_batch)
        rows = batch["completion_mask"].shape[0]
        start = self.accelerator.process_index * rows
        batch["rewards"] = self._batch_rewards[start : start + rows]
        self._batch_rewards = None
        return batch

    def _prepare_inputs(self, generation_batch: dict[str, Any]) -> dict[str, Any]:
        if not self.model.training:
            return self._generate_with_rewards(generation_batch)
        generate_every = self.args.steps_per_generation * self.num_iterations
        if self._step % generate_every == 0 or self._buffered_inputs is None:
            batch = self._generate_with_rewards(generation_batch)
            batch = shuffle_groups(batch, self.num_generations, generator=self._group_generator)
            self._buffered_inputs = split_tensor_dict(batch, self.args.steps_per_generation)
        return self._buffered_inputs[self._step % self.args.steps_per_generation]

    # -- loss ----------------------------------------------------------------------------------------------

    def _compute_loss(self, model, inputs):
        prompt_ids, prompt_mask = inputs["prompt_ids"], inputs["prompt_mask"]
        completion_ids, completion_mask = inputs["completion_ids"], inputs["completion_mask"]
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
        mask = completion_mask if "tool_mask" not in inputs else completion_mask * inputs["tool_mask"]

        logps, entropies, _ = self._get_per_token_logps_and_entropies(
            model, input_ids, attention_mask, completion_ids.size(1), compute_entropy=True
        )
        # Without old log-probs (one optimizer pass per generation, no vLLM), pi_old is the current policy.
        old_logps = inputs.get("old_per_token_logps")
        old_logps = logps.detach() if old_logps is None else old_logps
        sample_weights = self._sample_weights(inputs, completion_mask)

        args = self.args
        try:
            terms = gnivo_loss_terms(
                logps,
                old_logps,
                mask,
                inputs["rewards"],
                group_size=self.num_generations,
                alpha=args.alpha,
                prefix=args.prefix,
                weights=args.weights,
                step_ends=self._step_ends(completion_ids, completion_mask, inputs.get("tool_mask"))
                if args.unit == "step"
                else None,
                generator=self._prefix_generator,
                sample_weights=sample_weights,
            )
        except WeightOverflowError as error:  # the rewards, not a bug: one line, like a reward's error
            raise GnivoError(f"step {self.state.global_step + 1}: {error}") from error
        loss = terms.loss
        mode = "train" if self.model.training else "eval"
        if self.beta != 0.0:
            ratio = torch.exp(logps - old_logps) if args.use_bias_correction_kl else None
            kl = masked_k3_kl(logps, inputs["ref_per_token_logps"], mask, ratio)
            loss = loss + self.beta * kl
            self._metrics[mode]["kl"].append(self._global_mean(kl.detach()))
        self._log_gnivo_metrics(mode, terms, entropies, mask)
        normalizer = self.current_gradient_accumulation_steps if mode == "train" else 1.0
        return loss / normalizer

    def _sample_weights(self, inputs: dict[str, Any], completion_mask: torch.Tensor) -> torch.Tensor | None:
        """Per-response weights for the loss (docs/algorithm.md): vLLM's sampling ratio, truncation masking.

        Under vLLM trl gives the per-sequence pi_old / pi_vllm ratio, truncated or masked (0); with
        `mask_truncated_completions` trl zeroes a truncated completion's mask, and it leaves its group.
        """
        ratio = inputs.get("importance_sampling_ratio")
        weights = None if ratio is None else ratio.reshape(-1).float()
        if self.args.mask_truncated_completions:
            finished = (completion_mask.sum(dim=1) > 0).float()
            weights = finished if weights is None else weights * finished
        return weights

    def _step_ends(
        self, completion_ids: torch.Tensor, completion_mask: torch.Tensor, tool_mask: torch.Tensor | None = None
    ) -> list[list[int]]:
        """Each row's step ends over its completion; a tool's result (`tool_mask` 0) is no part of a step."""
        ends = []
        lengths = completion_mask.sum(dim=1).long().tolist()
        for row, (ids, length) in enumerate(zip(completion_ids.tolist(), lengths, strict=True)):
            own = None if tool_mask is None else tool_mask[row, :length].tolist()
            texts = [self._token_text(t) for t in ids[:length]]
            ends.append(step_ends(texts, self.args.step_separator, own))
        return ends

    def _token_text(self, token_id: int) -> str:
        text = self._token_texts.get(token_id)
        if text is None:
            text = self.processing_class.decode([token_id])
            self._token_texts[token_id] = text
        return text

    def _global_mean(self, value: torch.Tensor) -> float:
        # A collective: under NCCL every tensor it is given must be on this process's GPU.
        return self.accelerator.gather(value.detach().reshape(1).float().to(self.accelerator.device)).mean().item()

    def _log_gnivo_metrics(self, mode: str, terms, entropies: torch.Tensor, mask: torch.Tensor) -> None:
        metrics = self._metrics[mode]
        valid = terms.valid_groups
        target = terms.weights[valid] / terms.weights[valid].sum(dim=-1, keepdim=True)
        k = terms.weights.shape[-1]
        device = terms.weights.device
        # 1.0: the group's rewards were all equal (uniform target, no signal); lower: a sharper target.
        entropy = -(target * target.clamp_min(1e-12).log()).sum(-1) / math.log(k)
        weight_entropy = entropy.mean() if bool(valid.any()) else torch.tensor(1.0, device=device)
        group_loss = terms.group_loss[valid].mean() if bool(valid.any()) else torch.tensor(0.0, device=device)
        metrics["gnivo/cross_entropy"].append(self._global_mean(group_loss))
        metrics["gnivo/target_entropy"].append(self._global_mean(weight_entropy))
        metrics["gnivo/final_log_ratio_abs"].append(self._global_mean(terms.final_log_ratios.abs().mean()))
        entropy_mean = (entropies * mask).sum() / mask.sum().clamp(min=1)
        metrics["entropy"].append(self._global_mean(entropy_mean.detach()))
