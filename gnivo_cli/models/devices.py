"""Devices and dtypes, picked and checked in one place: `--device` checked before anything loads (a name
torch knows, and a device this machine has), the device "auto" means, and the torch dtype a dtype name
means. Used by `gnivo eval`'s settings and backends, every model load and the reward model; torch is
imported only when a function needs it.
"""

from __future__ import annotations

from typing import Any

from gnivo_cli.errors import GnivoError

#: The dtype names recipes, `--dtype` and reward params accept.
DTYPES = ("auto", "float32", "bfloat16", "float16")


def pick_device(device: str | None = "auto", *, local_rank: int | None = None) -> str:
    """`device` as given, or for "auto" (or None): a CUDA GPU (``cuda:LOCAL_RANK`` for one process of a
    launch), else Apple's MPS, else the CPU."""
    if device not in (None, "auto"):
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda" if local_rank is None else f"cuda:{local_rank}"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def torch_dtype(name: str | None, device: Any = None) -> Any:
    """The torch dtype `name` asks for. "auto" (or None) without a device is "auto" (transformers keeps the
    checkpoint's dtype); on a device it is what computes well there: bfloat16 on a CUDA GPU that supports
    it, float32 elsewhere."""
    import torch

    if name in (None, "auto"):
        if device is None:
            return "auto"
        on_cuda = torch.device(device).type == "cuda"
        return torch.bfloat16 if on_cuda and torch.cuda.is_bf16_supported() else torch.float32
    if name not in DTYPES:
        raise GnivoError(f"unknown dtype {name!r}: use {', '.join(DTYPES[:-1])} or {DTYPES[-1]}")
    return getattr(torch, name)


def device_problems(device: str) -> list[str]:
    """Problems with a `--device` value (none, or one line): not a torch device, or one this machine lacks."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        return [f"--device {device!r}: not a device; use cpu, cuda, cuda:N or mps"]
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            return [f"--device {device!r}: no CUDA GPU is visible on this machine; use cpu"]
        if parsed.index is not None and parsed.index >= count:
            return [f"--device {device!r}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}"]
    elif parsed.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        return [f"--device {device!r}: MPS is not available on this machine; use cpu"]
    return []


def check_device(device: str) -> None:
    """Refuse a device name torch does not know, or one this machine does not have, before loading."""
    problems = device_problems(device)
    if problems:
        raise GnivoError(problems[0])
