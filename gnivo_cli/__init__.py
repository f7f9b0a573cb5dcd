"""gnivo: critic-free RL post-training of language models with GN-IVO."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["evaluate", "gnivo_loss", "load_recipe", "train"]

# Lazy, so `import gnivo_cli` (and `gnivo --help`) does not import torch.
_EXPORTS = {
    "gnivo_loss": "gnivo_cli.algorithms.gnivo.loss",
    "load_recipe": "gnivo_cli.recipe.loader",
    "train": "gnivo_cli.training.train",
    "evaluate": "gnivo_cli.evaluation",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gnivo_cli' has no attribute {name!r}")
