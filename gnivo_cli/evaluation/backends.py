"""The generation backends by name: the one place that knows which classes implement `Generator`.

Kept apart from `generation`, the protocol the backends import, so the protocol never imports them.
"""

from __future__ import annotations

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.generation import Generator
from gnivo_cli.evaluation.settings import BACKENDS, SamplingSettings


def build_generator(
    backend: str,
    model: str,
    sampling: SamplingSettings,
    *,
    batch_size: int | None = None,
    dtype: str | None = None,
    device: str | None = None,
) -> Generator:
    """Load `model` into the named backend."""
    if backend == "hf":
        from gnivo_cli.evaluation.hf_backend import HFGenerator

        return HFGenerator.load(model, sampling, batch_size=batch_size, dtype=dtype, device=device)
    if backend == "vllm":
        from gnivo_cli.evaluation.vllm_backend import VLLMGenerator

        return VLLMGenerator.load(model, sampling, batch_size=batch_size, dtype=dtype)
    raise GnivoError(f"unknown backend {backend!r}: use {' or '.join(BACKENDS)}")
