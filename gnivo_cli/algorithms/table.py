"""The algorithms `gnivo train` and `gnivo compare` can run: one table, asked by every other module.

Each entry names its trl config and trainer classes (imported only when a run starts, so `--help` stays
instant), the recipe keys it owns beyond the shared ones, the recipe settings it fixes and the trl
settings it fixes. A recipe key an algorithm owns is passed to its config under the same name.
Adding an algorithm means adding an entry here (and, if trl has no trainer for it, one trainer file).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gnivo_cli.suggest import did_you_mean

#: `algorithm` keys every algorithm takes, passed to every trl config under the same name.
SHARED_KEYS = ("num_generations", "beta", "num_iterations")
#: The GN-IVO settings (see docs/algorithm.md).
GNIVO_KEYS = ("alpha", "prefix", "unit", "step_separator", "weights")
#: grpo-noclip's epsilon: a ratio this far from 1 (log-ratio ~21) does not happen within a few passes.
NO_CLIP_EPSILON = 1.0e9


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class AlgorithmSpec:
    name: str
    summary: str  # one line, for --help and the docs
    config: str  # "module:Class" of its trl config
    trainer: str  # "module:Class" of its trainer
    owns: tuple[str, ...] = ()  # recipe `algorithm` keys beyond SHARED_KEYS that it reads
    fixed: Mapping[str, Any] = field(default_factory=_frozen)  # owned recipe keys it always sets
    settings: Mapping[str, Any] = field(default_factory=_frozen)  # trl config settings it always sets
    color: str = "#7f7f7f"  # its line in `gnivo compare` figures

    @property
    def free_keys(self) -> tuple[str, ...]:
        """The owned recipe keys a recipe may set (the fixed ones are not the recipe's to choose)."""
        return tuple(key for key in self.owns if key not in self.fixed)

    def config_kwargs(self, section: Any) -> dict[str, Any]:
        """The trl config arguments this algorithm takes from a recipe's `algorithm` section."""
        owned = {key: self.fixed.get(key, getattr(section, key)) for key in self.owns}
        return {**owned, **self.settings}

    def config_class(self) -> type:
        return _import(self.config)

    def trainer_class(self) -> type:
        return _import(self.trainer)


def _import(target: str) -> type:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


_GNIVO_CONFIG = "gnivo_cli.algorithms.gnivo.config:GNIVOConfig"
_GNIVO_TRAINER = "gnivo_cli.algorithms.gnivo.trainer:GNIVOTrainer"

ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec(
            "gnivo",
            "GN-IVO: group-normalized implicit value optimization",
            _GNIVO_CONFIG,
            _GNIVO_TRAINER,
            owns=GNIVO_KEYS,
            color="#1f77b4",
        ),
        AlgorithmSpec(
            "gnivo-onestep",
            "GN-IVO matched at the final prefix point only",
            _GNIVO_CONFIG,
            _GNIVO_TRAINER,
            owns=GNIVO_KEYS,
            fixed=_frozen({"prefix": "final"}),
            color="#17becf",
        ),
        AlgorithmSpec(
            "grpo",
            "trl's GRPO (group-standardized advantages, clipped ratio)",
            "trl:GRPOConfig",
            "gnivo_cli.algorithms.baselines:TimedGRPOTrainer",
            color="#d62728",
        ),
        AlgorithmSpec(
            "grpo-noclip",
            "trl's GRPO without ratio clipping (epsilon huge): with num_iterations >= 2, tells reuse from step size",
            "trl:GRPOConfig",
            "gnivo_cli.algorithms.baselines:TimedGRPOTrainer",
            # clamp(ratio, 1 - eps, 1 + eps) never binds: the plain importance-weighted policy gradient.
            settings=_frozen({"epsilon": NO_CLIP_EPSILON, "epsilon_high": NO_CLIP_EPSILON}),
            color="#a50f15",  # a darker GRPO red
        ),
        AlgorithmSpec(
            "rloo",
            "trl's RLOO (leave-one-out baseline)",
            "trl:RLOOConfig",
            "gnivo_cli.algorithms.baselines:TimedRLOOTrainer",
            color="#ff7f0e",
        ),
        AlgorithmSpec(
            "dr-grpo",
            "trl's Dr. GRPO (GRPO without length or std normalization)",
            "trl:GRPOConfig",
            "gnivo_cli.algorithms.baselines:TimedGRPOTrainer",
            # Dr. GRPO: sum token losses over a constant (max completion length), advantages not divided by std.
            settings=_frozen({"loss_type": "dr_grpo", "scale_rewards": "none"}),
            color="#2ca02c",
        ),
    )
}

#: Every recipe key some algorithm owns: giving one to an algorithm that does not own it is an error.
OWNED_KEYS: tuple[str, ...] = tuple(dict.fromkeys(key for spec in ALGORITHMS.values() for key in spec.owns))


def unknown_algorithm(name: str) -> str:
    """The message for a name not in the table, with a did-you-mean where one is close."""
    listed = ", ".join(ALGORITHMS)
    return f"unknown algorithm {name!r}" + did_you_mean(name, ALGORITHMS, otherwise=f" (known: {listed})")


def get_algorithm(name: str) -> AlgorithmSpec:
    spec = ALGORITHMS.get(name)
    if spec is None:
        raise KeyError(unknown_algorithm(name))
    return spec
