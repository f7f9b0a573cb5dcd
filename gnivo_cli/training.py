"""`train(recipe)`: recipe -> model, data, rewards -> trl trainer -> output directory.

OUTPUT_DIR receives recipe.yaml (resolved), metrics.jsonl, checkpoint-N/ (every `save_steps`),
final/ (the LoRA adapter or the full model, loadable by peft/transformers) and summary.json.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.recipe import GNIVO_ALGORITHMS, Recipe

RECIPE_FILE = "recipe.yaml"
SUMMARY_FILE = "summary.json"
FINAL_DIR = "final"


@dataclass
class TrainResult:
    output_dir: Path
    steps: int
    total_time: float
    timings: dict[str, float] = field(default_factory=dict)
    final_reward: float | None = None
    peak_memory_mb: float | None = None


def prepare_output_dir(output_dir: Path, resume: bool) -> Path | None:
    """Refuse to overwrite a run; on resume, return the checkpoint to continue from."""
    from gnivo_cli.models import latest_checkpoint

    if resume:
        if not output_dir.is_dir():
            raise GnivoError(f"--resume: {output_dir} does not exist; drop --resume to start a new run")
        checkpoint = latest_checkpoint(output_dir)
        if checkpoint is None:
            raise GnivoError(f"--resume: {output_dir} has no checkpoint-N directory to resume from")
        return checkpoint
    if output_dir.exists() and any(output_dir.iterdir()):
        raise GnivoError(
            f"output directory {output_dir} is not empty: pass --resume to continue that run, "
            "or choose another with --output-dir"
        )
    return None


def trainer_config(recipe: Recipe, output_dir: Path, reward_weights: list[float]) -> Any:
    """The trl config for the recipe's algorithm, from one shared set of settings."""
    import torch

    algo, gen, train = recipe.algorithm, recipe.generation, recipe.training
    common: dict[str, Any] = dict(
        dataloader_pin_memory=torch.cuda.is_available(),
        output_dir=str(output_dir),
        learning_rate=train.learning_rate,
        max_steps=train.max_steps,
        per_device_train_batch_size=train.per_device_batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        seed=train.seed,
        data_seed=train.seed,
        save_strategy="steps",
        save_steps=train.save_steps,
        logging_steps=1,
        lr_scheduler_type=train.lr_scheduler,
        warmup_steps=train.warmup_steps,
        weight_decay=train.weight_decay,
        max_grad_norm=train.max_grad_norm,
        bf16=train.bf16,
        gradient_checkpointing=train.gradient_checkpointing,
        report_to="none",
        disable_tqdm=True,
        log_completions=train.log_completions,
        num_generations=algo.num_generations,
        beta=algo.beta,
        num_iterations=algo.num_iterations,
        reward_weights=reward_weights,
        max_completion_length=gen.max_new_tokens,
        temperature=gen.temperature,
        top_p=gen.top_p,
        top_k=gen.top_k,
        use_vllm=gen.use_vllm,
        vllm_mode=gen.vllm_mode,
    )
    if algo.name in GNIVO_ALGORITHMS:
        from gnivo_cli.engine.trainer import GNIVOConfig

        prefix = "final" if algo.name == "gnivo-onestep" else algo.prefix
        return GNIVOConfig(
            **common,
            alpha=algo.alpha,
            prefix_points=prefix,
            step_unit=algo.unit,
            step_separator=algo.step_separator,
            target_weights=algo.weights,
        )
    if algo.name == "grpo":
        from trl import GRPOConfig

        return GRPOConfig(**common)
    from trl import RLOOConfig

    return RLOOConfig(**common)


def _trainer_class(name: str) -> type:
    from gnivo_cli.engine import trainer

    if name in GNIVO_ALGORITHMS:
        return trainer.GNIVOTrainer
    return trainer.TimedGRPOTrainer if name == "grpo" else trainer.TimedRLOOTrainer


def _lora_config(recipe: Recipe) -> Any:
    if not recipe.lora.enabled:
        return None
    from peft import LoraConfig

    lora = recipe.lora
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )


def load_reward_functions(recipe: Recipe) -> tuple[list[Any], list[float]]:
    from gnivo_cli.engine.reward_funcs import TrlRewardFunction
    from rewards.registry import load_reward

    functions = [TrlRewardFunction(load_reward(spec.name, spec.params)) for spec in recipe.rewards]
    return functions, [spec.weight for spec in recipe.rewards]


def build_trainer(recipe: Recipe, output_dir: Path, *, console: Any = None) -> tuple[Any, Any]:
    """Everything `train` needs, ready to run: (trainer, metrics writer)."""
    from transformers import PrinterCallback, ProgressCallback
    from transformers.trainer_utils import set_seed

    from gnivo_cli.data import load_prompt_dataset
    from gnivo_cli.engine.callbacks import MetricsWriter, RichProgress
    from gnivo_cli.models import load_causal_lm, load_tokenizer
    from gnivo_cli.vllm_support import prepare_training

    prepare_training(recipe)  # vLLM generation: a clear error without it; on a CPU, settings that run there
    set_seed(recipe.training.seed)
    dataset = load_prompt_dataset(recipe.data, recipe.source)
    reward_functions, weights = load_reward_functions(recipe)
    model = load_causal_lm(
        recipe.model.name, dtype=recipe.model.dtype, trust_remote_code=recipe.model.trust_remote_code
    )
    tokenizer = load_tokenizer(recipe.model.name)
    config = trainer_config(recipe, output_dir, weights)
    trainer = _trainer_class(recipe.algorithm.name)(
        model=model,
        reward_funcs=reward_functions,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=_lora_config(recipe),
    )
    for callback in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(callback)
    metrics = MetricsWriter(output_dir, accounting=trainer)
    trainer.add_callback(metrics)
    if console is not None:
        trainer.add_callback(RichProgress(console, metrics, description=recipe.algorithm.name))
    trainer.gnivo_reward_functions = reward_functions
    return trainer, metrics


def train(recipe: Recipe, *, resume: bool = False, console: Any = None) -> TrainResult:
    """Train with a validated recipe. `console` (rich) shows live progress; None trains quietly."""
    _quiet_library_warnings()
    output_dir = Path(recipe.training.output_dir)
    checkpoint = prepare_output_dir(output_dir, resume)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / RECIPE_FILE).write_text(recipe.to_yaml())

    started = time.perf_counter()
    trainer, metrics = build_trainer(recipe, output_dir, console=console)
    if checkpoint is not None:
        metrics.truncate_after(_checkpoint_step(checkpoint))
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    finally:
        for function in trainer.gnivo_reward_functions:
            function.reward.close()
    final_dir = output_dir / FINAL_DIR
    trainer.save_model(str(final_dir))
    trainer.processing_class.save_pretrained(str(final_dir))

    from gnivo_cli.curves import final_reward, load_run
    from gnivo_cli.engine.callbacks import peak_memory_mb

    result = TrainResult(
        output_dir=output_dir,
        steps=trainer.state.global_step,
        total_time=time.perf_counter() - started,
        timings=trainer.timing_breakdown(),
        final_reward=final_reward(load_run(output_dir)),
        peak_memory_mb=round(peak_memory_mb(), 1),
    )
    _write_summary(recipe, result, trainer)
    return result


def _quiet_library_warnings() -> None:
    """Deprecation notices and progress bars of transformers/trl internals are not the user's to act on."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|trl|peft)\b")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(transformers|trl|peft)\b")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # weight loading/saving bars would break the live display


def _checkpoint_step(checkpoint: Path) -> int:
    return int(checkpoint.name.split("-")[-1])


def _write_summary(recipe: Recipe, result: TrainResult, trainer: Any) -> None:
    counters: dict[str, float] = {}
    for function in trainer.gnivo_reward_functions:
        for key, value in function.counters.items():
            counters[f"{function.__name__}/{key}"] = value
    summary = {
        "algorithm": recipe.algorithm.name,
        "seed": recipe.training.seed,
        "steps": result.steps,
        "total_time": round(result.total_time, 2),
        "timings": {k: round(v, 2) for k, v in result.timings.items()},
        "samples_generated": trainer.samples_generated,
        "tokens_generated": trainer.tokens_generated,
        "final_reward": result.final_reward,
        "peak_memory_mb": result.peak_memory_mb,
        "reward_counters": counters,
    }
    (result.output_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
