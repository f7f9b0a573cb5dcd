"""`--device` checked before anything loads: a name torch knows, and a device this machine has.

One check for `gnivo eval`'s settings and for every model load; torch is imported only when a device is given.
"""

from __future__ import annotations

from gnivo_cli.errors import GnivoError


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
