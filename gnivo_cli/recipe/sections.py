"""The sections of a recipe, as typed dataclasses: each field's type, default and bounds are the schema
that `gnivo_cli.recipe.loader` validates a YAML file against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from gnivo_cli.recipe.schema import bounds


@dataclass(frozen=True)
class ModelSection:
    # hub id, local directory, or the embedded SmolLM2-135M-Instruct
    name: str = field(default="embedded", metadata=bounds(nonempty=True))
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    trust_remote_code: bool = False


@dataclass(frozen=True)
class LoraSection:
    enabled: bool = False
    r: int = field(default=16, metadata=bounds(ge=1))
    alpha: int = field(default=32, metadata=bounds(ge=1))  # LoRA's scale is alpha / r: 0 would train nothing
    # only 0: training runs without dropout (gnivo_cli/models/dropout.py); kept to refuse other values with the reason
    dropout: float = field(default=0.0, metadata=bounds(ge=0, lt=1))
    target_modules: str | list[str] = field(default="all-linear", metadata=bounds(nonempty=True))


@dataclass(frozen=True)
class DataSection:
    # synthetic:NAME, a .jsonl/.json path, or a Hugging Face dataset id
    source: str = field(default="synthetic:arithmetic", metadata=bounds(nonempty=True))
    split: str = field(default="train", metadata=bounds(nonempty=True))
    config: str | None = None  # the Hugging Face dataset config name, where it has several
    prompt_column: str = field(default="problem", metadata=bounds(nonempty=True))
    # `{prompt}` is the prompt column, `{column}` any other column; `{{`/`}}` are literal braces, other
    # braces stay as written (`\boxed{}`): gnivo_cli/data/templates.py
    prompt_template: str = field(default="{prompt}", metadata=bounds(nonempty=True))
    system_prompt: str | None = None
    # true: the prompt may render a column a reward grades against (refused otherwise: the model would see its answer)
    allow_answer_in_prompt: bool = False
    limit: int | None = field(default=None, metadata=bounds(ge=1))
    synthetic: dict[str, Any] = field(default_factory=dict)  # parameters of a synthetic task


@dataclass(frozen=True)
class RewardSpec:
    name: str
    weight: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)
    on_error: Literal["raise", "skip"] = "raise"  # "skip": a sample whose scoring raises gets None, counted


@dataclass(frozen=True)
class AlgorithmSection:
    name: str = "gnivo"  # a key of gnivo_cli.algorithms.table.ALGORITHMS
    num_generations: int = 4  # K responses per prompt
    beta: float = 0.0  # KL penalty to the initial model; 0 loads no reference model
    num_iterations: int = 1  # optimizer passes per generation batch (pi_old fixed across them)
    alpha: float = 0.2
    prefix: Literal["final", "sample", "all"] = "all"
    unit: Literal["token", "step"] = "token"
    step_separator: str = "\n\n"
    weights: Literal["normalized", "exp"] = "normalized"


@dataclass(frozen=True)
class GenerationSection:
    max_new_tokens: int = field(default=128, metadata=bounds(ge=1))
    temperature: float = field(default=1.0, metadata=bounds(gt=0))
    top_p: float = field(default=1.0, metadata=bounds(gt=0, le=1))
    top_k: int = field(default=0, metadata=bounds(ge=0))  # 0 keeps every token
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    # server mode: the URL `trl vllm-serve` listens on (unset: trl's default, port 8000 on this machine)
    vllm_server_url: str | None = None
    vllm_server_timeout: float = field(default=240.0, metadata=bounds(gt=0))  # seconds to wait for the server
    # colocate mode: the share of each GPU's memory vLLM takes for its weights and KV cache
    vllm_gpu_memory_utilization: float = field(default=0.3, metadata=bounds(gt=0, le=1))


#: What `training.report_to` takes: transformers' integration names (its INTEGRATION_TO_CALLBACK, checked by a
#: test), plus "none" and "all" (every installed one), as trl and transformers take them.
TRACKERS = (
    "azure_ml",
    "clearml",
    "codecarbon",
    "comet_ml",
    "dagshub",
    "dvclive",
    "flyte",
    "kubeflow",
    "mlflow",
    "neptune",
    "swanlab",
    "tensorboard",
    "trackio",
    "wandb",
)


@dataclass(frozen=True)
class HeldOutEvalSection:
    """`training.eval`: `gnivo eval` on the current policy every `every` steps (docs/tracking.md)."""

    bench: str | None = None  # a benchmark name (`gnivo eval --list`); None: the one whose file `data` is
    data: str | None = None  # a local JSONL file, or a folder holding the benchmark's file
    every: int = field(default=50, metadata=bounds(ge=1))  # optimizer steps; the last step is evaluated too
    at_start: bool = True  # evaluate the initial policy too (step 0), the baseline of the curve
    limit: int | None = field(default=None, metadata=bounds(ge=1))  # the first problems only
    samples: int | None = field(default=None, metadata=bounds(ge=1))  # per problem; None: the largest pass_at
    pass_at: list[int] = field(default_factory=lambda: [1])
    # `gnivo eval`'s defaults (EvalSettings); max_new_tokens None: generation.max_new_tokens
    temperature: float = field(default=0.6, metadata=bounds(ge=0))
    top_p: float = field(default=0.95, metadata=bounds(gt=0, le=1))
    max_new_tokens: int | None = field(default=None, metadata=bounds(ge=1))
    batch_size: int | None = field(default=None, metadata=bounds(ge=1))

    @staticmethod
    def shorthand(text: str) -> dict[str, Any]:
        """`eval: gsm8k` names the benchmark; `eval: path/gsm8k_test.jsonl` its data file."""
        is_file = text.endswith((".jsonl", ".json")) or "/" in text
        return {"data": text} if is_file else {"bench": text}


@dataclass(frozen=True)
class TrainingSection:
    learning_rate: float = field(default=1.0e-5, metadata=bounds(gt=0))
    max_steps: int = field(default=100, metadata=bounds(ge=1))
    per_device_batch_size: int = field(default=8, metadata=bounds(ge=1))  # completions per micro-batch: a multiple of K
    gradient_accumulation_steps: int = field(default=1, metadata=bounds(ge=1))
    seed: int = field(default=0, metadata=bounds(ge=0, lt=2**32))  # numpy's seeds are 32-bit unsigned
    output_dir: str = field(default="runs/gnivo", metadata=bounds(nonempty=True))
    save_steps: int = field(default=50, metadata=bounds(ge=1))
    lr_scheduler: Literal["constant", "linear", "cosine", "constant_with_warmup"] = "constant"
    warmup_steps: int = field(default=0, metadata=bounds(ge=0))
    weight_decay: float = field(default=0.0, metadata=bounds(ge=0))
    # transformers silently turns clipping off at <= 0
    max_grad_norm: float = field(default=1.0, metadata=bounds(gt=0))
    bf16: bool = False
    gradient_checkpointing: bool = False
    log_completions: bool = False  # every generated completion to completions.jsonl
    # experiment trackers (TRACKERS), one name or a list; "none" reports to none
    report_to: str | list[str] = "none"
    project: str = field(default="gnivo", metadata=bounds(nonempty=True))  # the trackers' project
    run_name: str | None = None  # the trackers' run name; None: the output directory's name
    eval: HeldOutEvalSection | None = None  # held-out evaluation during training
