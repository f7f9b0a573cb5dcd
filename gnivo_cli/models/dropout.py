"""No dropout in the policy, for every algorithm.

The policy samples the completions and scores their old (and, through a disabled adapter, reference)
log-probabilities in train mode, then learns from the ratio of its own log-probabilities to those. Any
dropout makes the two passes differ by noise: the first pass over a batch would already see a non-zero
log-ratio, which GN-IVO sums over the whole response. So every dropout is off: trl's `disable_dropout`
sets each `torch.nn.Dropout` (LoRA's included) to 0, and `zero_dropout_rates` zeroes the rates that
attention layers read at call time (transformers' `attention_dropout`, `dropout`, ... floats), which no
`Dropout` module holds.
"""

from __future__ import annotations

from typing import Any


def zero_dropout_rates(model: Any) -> list[str]:
    """Set every float dropout rate a module of `model` holds to 0; returns the `module.attribute` names changed."""
    changed = []
    for module_name, module in model.named_modules():
        for attribute, value in vars(module).items():
            if "drop" in attribute.lower() and isinstance(value, float) and value != 0.0:
                setattr(module, attribute, 0.0)
                changed.append(f"{module_name}.{attribute}" if module_name else attribute)
    return changed
