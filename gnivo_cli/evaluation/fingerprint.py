"""What identifies an evaluation's samples: the settings that decide them, the weights, the reward and the
problems. A rerun into a folder resumes only when this fingerprint matches; the default folder is named by it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gnivo_cli.evaluation.benchmark_spec import Benchmark, Problem
from gnivo_cli.evaluation.benchmarks import problems_digest
from gnivo_cli.evaluation.settings import EvalSettings

DEFAULT_OUTPUT_ROOT = Path("gnivo-eval")
# Settings that change how samples are produced or scored, not what they are: a resumed run may change
# them. `data` is covered by the digest of the problems it yields (so a relative path may change too).
_EXECUTION_ONLY = ("pass_at", "batch_size", "device", "data")
#: Files whose names, sizes and modification times identify a model's weights (see `weights_fingerprint`).
_WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf", "config.json", "adapter_config.json")


def run_fingerprint(
    settings: EvalSettings,
    benchmark: Benchmark,
    problems: Sequence[Problem],
    reward_params: dict[str, Any] | None = None,
    *,
    weights: str | None = None,
) -> dict[str, Any]:
    """Everything that decides the samples and their scores (recorded in the folder's run.json). `weights`
    identifies a model in memory (`LoadedModel.identity`); None reads `settings.model`'s files."""
    return {
        **{k: v for k, v in settings.as_dict().items() if k not in _EXECUTION_ONLY},
        "model": weights if weights is not None else weights_fingerprint(settings.model),
        "reward": {"name": benchmark.reward, "params": {**benchmark.reward_params, **(reward_params or {})}},
        "problems": problems_digest(problems),
    }


def model_identity(model: str) -> str:
    """What identifies the weights: `embedded`, a local folder's absolute path (a training run's
    resolved checkpoint included), or the hub id."""
    from gnivo_cli.models.loading import is_embedded, resolve_model

    if is_embedded(model):
        return "embedded"
    resolved = resolve_model(model)
    path = Path(resolved)
    return str(path.resolve()) if path.is_dir() else resolved


def weights_fingerprint(model: str) -> str:
    """What identifies the weights for resuming: for a local folder, the names, sizes and modification
    times of its weight and config files (cheap, and changed by any rewrite, even at the same path; kept
    by a move); `embedded` and hub ids as they are."""
    from gnivo_cli.models.loading import is_embedded, resolve_model

    if is_embedded(model):
        return "embedded"
    resolved = resolve_model(model)
    path = Path(resolved)
    if not path.is_dir():
        return resolved
    digest = hashlib.sha256()
    files = sorted({f for pattern in _WEIGHT_PATTERNS for f in path.glob(pattern) if f.is_file()})
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return f"local:{digest.hexdigest()[:16]}"


def default_output_dir(settings: EvalSettings, fingerprint: dict[str, Any]) -> Path:
    """gnivo-eval/BENCH/MODEL-HASH: the same command resumes in the same folder, other settings get
    their own."""
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:8]
    name = Path(settings.model.rstrip("/")).name if Path(settings.model).expanduser().exists() else settings.model
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "model"
    return DEFAULT_OUTPUT_ROOT / settings.bench / f"{slug}-{digest}"
