"""gnivo: critic-free RL post-training of language models with GN-IVO."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["gnivo_loss"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import gnivo_cli` (and `gnivo --help`) does not import torch.
    if name == "gnivo_loss":
        from gnivo_cli.engine.loss import gnivo_loss

        return gnivo_loss
    raise AttributeError(f"module 'gnivo_cli' has no attribute {name!r}")
