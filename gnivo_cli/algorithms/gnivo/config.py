"""GNIVOConfig: GRPOConfig plus the GN-IVO settings, refusing the GRPO options the GN-IVO loss does not honour.

Field names match the recipe's `algorithm` keys (alpha, prefix, unit, step_separator, weights).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from trl import GRPOConfig

from gnivo_cli.algorithms.gnivo.limits import alpha_problem, group_size_problem, whole_groups_problem

#: GRPOConfig options that only shape trl's clipped-ratio GRPO loss, which GN-IVO replaces. They must keep
#: trl's defaults: a changed value would be silently ignored otherwise.
GRPO_LOSS_OPTIONS = (
    "loss_type",
    "epsilon",
    "epsilon_high",
    "delta",
    "importance_sampling_level",
    "top_entropy_quantile",
    "off_policy_mask_threshold",
    "entropy_coef",
    "use_adaptive_entropy",
)
#: vLLM sampling corrections GN-IVO applies (per sequence, to both sides of its cross-entropy).
SEQUENCE_CORRECTIONS = ("sequence_mask", "sequence_truncate")


@dataclass
class GNIVOConfig(GRPOConfig):
    """GRPOConfig plus the GN-IVO settings (see docs/algorithm.md)."""

    alpha: float = field(default=0.2, metadata={"help": "Temperature of the target softmax(R / alpha)."})
    prefix: Literal["final", "sample", "all"] = field(
        default="all", metadata={"help": "Prefix points t matched: the whole response, one sampled, or all."}
    )
    unit: Literal["token", "step"] = field(
        default="token", metadata={"help": "A prefix point ends after a token or after a reasoning step."}
    )
    step_separator: str = field(default="\n\n", metadata={"help": "Text that ends a reasoning step."})
    weights: Literal["normalized", "exp"] = field(
        default="normalized", metadata={"help": "softmax(R/alpha) within the group, or Eq. 9's exp(R/alpha)."}
    )
    # GN-IVO builds its targets from raw rewards: GRPO's per-group scaling would only change logged advantages.
    scale_rewards: str = "none"
    # GN-IVO's KL term is the plain k3 estimate unless asked for trl's ratio-weighted (bias-corrected) one.
    use_bias_correction_kl: bool = False

    def __post_init__(self):
        _refuse_grpo_loss_options(self)
        super().__post_init__()
        if problem := alpha_problem(self.alpha):
            raise ValueError(f"alpha {problem}")
        if self.prefix not in ("final", "sample", "all"):
            raise ValueError(f"prefix must be one of final, sample, all, got {self.prefix!r}")
        if self.unit not in ("token", "step"):
            raise ValueError(f"unit must be token or step, got {self.unit!r}")
        if self.unit == "step" and not self.step_separator:
            raise ValueError("step_separator must not be empty with unit 'step'")
        if self.weights not in ("normalized", "exp"):
            raise ValueError(f"weights must be normalized or exp, got {self.weights!r}")
        if problem := group_size_problem(self.num_generations):
            raise ValueError(f"num_generations (K) {problem}")
        if problem := whole_groups_problem(self.per_device_train_batch_size, self.num_generations):
            raise ValueError(f"per_device_train_batch_size {problem}")
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError("GN-IVO sums weighted rewards: multi_objective_aggregation must be 'sum_then_normalize'")
        if self.scale_rewards != "none":
            raise ValueError(
                f"scale_rewards={self.scale_rewards!r} does not apply to GN-IVO, whose targets use the raw rewards: "
                "leave it 'none'"
            )
        if (
            self.use_vllm
            and self.vllm_importance_sampling_correction
            and self.vllm_importance_sampling_mode not in SEQUENCE_CORRECTIONS
        ):
            raise ValueError(
                f"vllm_importance_sampling_mode={self.vllm_importance_sampling_mode!r}: GN-IVO corrects vLLM's "
                f"sampling mismatch per sequence; use one of {', '.join(SEQUENCE_CORRECTIONS)}, or turn "
                "vllm_importance_sampling_correction off"
            )


def _refuse_grpo_loss_options(config: GNIVOConfig) -> None:
    defaults = {f.name: f.default for f in dataclasses.fields(GRPOConfig)}
    changed = [name for name in GRPO_LOSS_OPTIONS if getattr(config, name) != defaults[name]]
    if changed:
        settings = ", ".join(f"{name}={getattr(config, name)!r}" for name in changed)
        raise ValueError(
            f"{settings}: GN-IVO replaces trl's GRPO loss and does not use "
            f"{'this option' if len(changed) == 1 else 'these options'}; leave {'it' if len(changed) == 1 else 'them'} "
            "at trl's default"
        )
