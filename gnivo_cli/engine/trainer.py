"""GNIVOTrainer: trl's GRPOTrainer with the GN-IVO loss.

Everything but the loss (generation, reward scoring, reference model, vLLM, checkpoints) is trl's.
Three things change:
- raw rewards travel with the batch (GN-IVO targets need R, not GRPO's normalized advantages);
- generation batches are shuffled in whole groups, so all K members meet in one loss call;
- `_compute_loss` calls the pure `gnivo_loss` and logs its own metrics.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from trl import GRPOConfig, GRPOTrainer, RLOOTrainer
from trl.trainer.utils import split_tensor_dict

from gnivo_cli.engine.batching import shuffle_groups
from gnivo_cli.engine.loss import gnivo_loss_terms, masked_k3_kl
from gnivo_cli.engine.steps import step_ends


@dataclass
class GNIVOConfig(GRPOConfig):
    """GRPOConfig plus the GN-IVO settings (see docs/algorithm.md)."""

    alpha: float = field(default=0.2, metadata={"help": "Temperature of the target softmax(R / alpha)."})
    prefix_points: Literal["final", "sample", "all"] = field(
        default="all", metadata={"help": "Prefix points t matched: the whole response, one sampled, or all."}
    )
    step_unit: Literal["token", "step"] = field(
        default="token", metadata={"help": "A prefix point ends after a token or after a reasoning step."}
    )
    step_separator: str = field(default="\n\n", metadata={"help": "Text that ends a reasoning step."})
    target_weights: Literal["normalized", "exp"] = field(
        default="normalized", metadata={"help": "softmax(R/alpha) within the group, or Eq. 9's exp(R/alpha)."}
    )
    # GN-IVO builds its targets from raw rewards; GRPO's per-group scaling only affects logged advantages.
    scale_rewards: str = "none"

    def __post_init__(self):
        super().__post_init__()
        if self.alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.num_generations is None or self.num_generations < 2:
            raise ValueError(f"num_generations (K) must be >= 2, got {self.num_generations}")
        if self.per_device_train_batch_size % self.num_generations:
            raise ValueError(
                f"per_device_train_batch_size ({self.per_device_train_batch_size}) must be a multiple of "
                f"num_generations ({self.num_generations}): every group of K completions must meet in one loss call"
            )
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError("GN-IVO sums weighted rewards: multi_objective_aggregation must be 'sum_then_normalize'")


class RolloutAccountingMixin:
    """Time spent generating, scoring and training, and samples/tokens generated (for metrics)."""

    def _init_accounting(self) -> None:
        self.timings: dict[str, float] = defaultdict(float)
        self.samples_generated = 0
        self.tokens_generated = 0

    def _generate_and_score_completions(self, inputs):
        started = time.perf_counter()
        output = super()._generate_and_score_completions(inputs)
        self.timings["rollout"] += time.perf_counter() - started
        # Counted over all processes (each holds its share of the batch): a run's budget, however launched.
        mask = output["completion_mask"]
        self.samples_generated += int(mask.shape[0]) * self.accelerator.num_processes
        self.tokens_generated += int(self.accelerator.gather(mask.sum().reshape(1)).sum().item())
        return output

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        started = time.perf_counter()
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self.timings["scoring"] += time.perf_counter() - started
        self._last_rewards_per_func = rewards_per_func
        return rewards_per_func

    def training_step(self, model, inputs, num_items_in_batch):
        started = time.perf_counter()
        output = super().training_step(model, inputs, num_items_in_batch)
        self.timings["total"] += time.perf_counter() - started
        return output

    def timing_breakdown(self) -> dict[str, float]:
        rollout, scoring, total = self.timings["rollout"], self.timings["scoring"], self.timings["total"]
        return {"generation": rollout - scoring, "scoring": scoring, "loss_backward": max(total - rollout, 0.0)}


class TimedGRPOTrainer(RolloutAccountingMixin, GRPOTrainer):
    """trl's GRPOTrainer, unchanged but for time and sample accounting."""

    def __init__(self, *args, **kwargs):
        self._init_accounting()
        super().__init__(*args, **kwargs)


class TimedRLOOTrainer(RolloutAccountingMixin, RLOOTrainer):
    """trl's RLOOTrainer, unchanged but for time and sample accounting."""

    def __init__(self, *args, **kwargs):
        self._init_accounting()
        super().__init__(*args, **kwargs)


class GNIVOTrainer(RolloutAccountingMixin, GRPOTrainer):
    """Group-Normalized Implicit Value Optimization on top of trl's GRPOTrainer."""

    _tag_names: ClassVar[list[str]] = ["trl", "gnivo"]
    _name = "GN-IVO"

    def __init__(self, model, reward_funcs, args: GNIVOConfig | None = None, **kwargs):
        if args is None:
            raise ValueError("GNIVOTrainer needs a GNIVOConfig")
        self._init_accounting()
        super().__init__(model, reward_funcs, args=args, **kwargs)
        self._prefix_generator = torch.Generator().manual_seed(args.seed)
        self._group_generator = torch.Generator().manual_seed(args.seed + 1)
        self._token_texts: dict[int, str] = {}

    # -- rollout: keep raw rewards, shuffle whole groups --------------------------------------------------

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        output["rewards"] = self._local_rewards(output["completion_mask"].shape[0])
        return output

    def _local_rewards(self, local_rows: int) -> torch.Tensor:
        """This process's weighted rewards; an unscorable completion takes its group's mean (no signal)."""
        per_func = self._last_rewards_per_func
        weights = self.reward_weights.to(per_func.device).unsqueeze(0)
        rewards = (per_func * weights).nansum(dim=1)
        rewards[torch.isnan(per_func).all(dim=1)] = torch.nan
        grouped = rewards.view(-1, self.num_generations)
        group_mean = torch.nan_to_num(torch.nanmean(grouped, dim=1, keepdim=True), nan=0.0)
        grouped = torch.where(torch.isnan(grouped), group_mean, grouped)
        start = self.accelerator.process_index * local_rows
        return grouped.reshape(-1)[start : start + local_rows]

    def _prepare_inputs(self, generation_batch: dict[str, Any]) -> dict[str, Any]:
        if not self.model.training:
            return super()._prepare_inputs(generation_batch)
        generate_every = self.args.steps_per_generation * self.num_iterations
        if self._step % generate_every == 0 or self._buffered_inputs is None:
            batch = self._generate_and_score_completions(generation_batch)
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

        args = self.args
        terms = gnivo_loss_terms(
            logps,
            old_logps,
            mask,
            inputs["rewards"],
            group_size=self.num_generations,
            alpha=args.alpha,
            prefix=args.prefix_points,
            weights=args.target_weights,
            step_ends=self._step_ends(completion_ids, mask) if args.step_unit == "step" else None,
            generator=self._prefix_generator,
        )
        loss = terms.loss
        mode = "train" if self.model.training else "eval"
        if self.beta != 0.0:
            kl = masked_k3_kl(logps, inputs["ref_per_token_logps"], mask)
            loss = loss + self.beta * kl
            self._metrics[mode]["kl"].append(self._global_mean(kl.detach()))
        self._log_gnivo_metrics(mode, terms, entropies, mask)
        normalizer = self.current_gradient_accumulation_steps if mode == "train" else 1.0
        return loss / normalizer

    def _step_ends(self, completion_ids: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        ends = []
        for ids, length in zip(completion_ids.tolist(), mask.sum(dim=1).long().tolist(), strict=True):
            ends.append(step_ends([self._token_text(t) for t in ids[:length]], self.args.step_separator))
        return ends

    def _token_text(self, token_id: int) -> str:
        text = self._token_texts.get(token_id)
        if text is None:
            text = self.processing_class.decode([token_id])
            self._token_texts[token_id] = text
        return text

    def _global_mean(self, value: torch.Tensor) -> float:
        return self.accelerator.gather(value.reshape(1).float()).mean().item()

    def _log_gnivo_metrics(self, mode: str, terms, entropies: torch.Tensor, mask: torch.Tensor) -> None:
        metrics = self._metrics[mode]
        target = terms.weights / terms.weights.sum(dim=-1, keepdim=True)
        k = target.shape[-1]
        # 1.0: the group's rewards were all equal (uniform target, no signal); lower: a sharper target.
        weight_entropy = -(target * target.clamp_min(1e-12).log()).sum(-1).mean() / torch.log(torch.tensor(k))
        metrics["gnivo/cross_entropy"].append(self._global_mean(terms.group_loss[terms.valid_groups].mean()))
        metrics["gnivo/target_entropy"].append(self._global_mean(weight_entropy))
        metrics["gnivo/final_log_ratio_abs"].append(self._global_mean(terms.final_log_ratios.abs().mean()))
        entropy_mean = (entropies * mask).sum() / mask.sum().clamp(min=1)
        metrics["entropy"].append(self._global_mean(entropy_mean.detach()))
