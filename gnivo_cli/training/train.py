"""`train(recipe)`: recipe -> model, data, rewards -> trl trainer -> output directory.

OUTPUT_DIR receives recipe.yaml (resolved), prompts.txt (the first prompts as the model receives them),
metrics.jsonl, checkpoint-N/ (every `save_steps`), final/ (the LoRA adapter or the full model, loadable by
peft/transformers) and summary.json; see `gnivo_cli.training.run_files` for the layout and
`gnivo_cli.training.resume` for how a run is started or resumed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gnivo_cli.algorithms.table import SHARED_KEYS, get_algorithm
from gnivo_cli.errors import TrainingInterrupted
from gnivo_cli.files.atomic import write_json_atomic, write_text_atomic
from gnivo_cli.recipe.loader import Recipe
from gnivo_cli.training import run_files


@dataclass
class TrainResult:
    output_dir: Path
    steps: int
    total_time: float
    timings: dict[str, float] = field(default_factory=dict)
    final_reward: float | None = None
    #: mean of metrics.jsonl's boxed_correct_share over the last quarter of steps (None: no reward counts it)
    final_boxed_correct_share: float | None = None
    peak_memory_mb: float | None = None
    already_finished: bool = False  # --resume found the run complete and trained nothing


def trainer_config(recipe: Recipe, output_dir: Path, reward_weights: list[float]) -> Any:
    """The trl config for the recipe's algorithm, from one shared set of settings."""
    import torch

    algo, gen, train = recipe.algorithm, recipe.generation, recipe.training
    common: dict[str, Any] = dict(
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(),  # several processes without CUDA: a gloo group on the CPU
        output_dir=str(output_dir),
        learning_rate=train.learning_rate,
        max_steps=train.max_steps,
        per_device_train_batch_size=train.per_device_batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        seed=train.seed,
        data_seed=train.seed,
        save_strategy="steps",
        # Checkpoints fall between generated batches, where a resume repeats the run exactly.
        save_steps=-(-train.save_steps // algo.num_iterations) * algo.num_iterations,
        logging_steps=1,
        lr_scheduler_type=train.lr_scheduler,
        warmup_steps=train.warmup_steps,
        weight_decay=train.weight_decay,
        max_grad_norm=train.max_grad_norm,
        bf16=train.bf16,
        gradient_checkpointing=train.gradient_checkpointing,
        report_to="none",
        disable_tqdm=True,
        # Sampling, old/reference log-probs and the loss see one policy (gnivo_cli/models/dropout.py).
        disable_dropout=True,
        log_completions=train.log_completions,
        reward_weights=reward_weights,
        max_completion_length=gen.max_new_tokens,
        temperature=gen.temperature,
        top_p=gen.top_p,
        top_k=gen.top_k,
        use_vllm=gen.use_vllm,
        vllm_mode=gen.vllm_mode,
        vllm_server_base_url=gen.vllm_server_url,
        vllm_server_timeout=gen.vllm_server_timeout,
        vllm_gpu_memory_utilization=gen.vllm_gpu_memory_utilization,
    )
    spec = get_algorithm(algo.name)
    shared = {key: getattr(algo, key) for key in SHARED_KEYS}
    return spec.config_class()(**common, **shared, **spec.config_kwargs(algo))


def _trainer_class(name: str) -> type:
    return get_algorithm(name).trainer_class()


def _lora_config(recipe: Recipe) -> Any:
    if not recipe.lora.enabled:
        return None
    from peft import LoraConfig

    lora = recipe.lora
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,  # 0: the recipe refuses any other value (gnivo_cli/models/dropout.py)
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )


def load_reward_functions(recipe: Recipe) -> tuple[list[Any], list[float]]:
    from gnivo_cli.algorithms.reward_functions import build_reward_functions

    functions = build_reward_functions(recipe.rewards)
    return functions, [spec.weight for spec in recipe.rewards]


def build_trainer(recipe: Recipe, output_dir: Path, *, console: Any = None) -> tuple[Any, Any]:
    """Everything `train` needs, ready to run: (trainer, metrics writer)."""
    from transformers import PrinterCallback, ProgressCallback
    from transformers.trainer_utils import set_seed

    from gnivo_cli.data.loading import load_training_dataset
    from gnivo_cli.models.checks import check_against_model
    from gnivo_cli.models.dropout import zero_dropout_rates
    from gnivo_cli.models.loading import load_causal_lm, load_tokenizer
    from gnivo_cli.models.vllm_setup import prepare_training
    from gnivo_cli.training.callbacks import MetricsWriter, RichProgress
    from gnivo_cli.training.checkpoint_state import CheckpointState

    prepare_training(recipe)  # vLLM generation: a clear error without it; on a CPU, settings that run there
    set_seed(recipe.training.seed)
    dataset = load_training_dataset(recipe)
    reward_functions, weights = load_reward_functions(recipe)
    model = load_causal_lm(
        recipe.model.name, dtype=recipe.model.dtype, trust_remote_code=recipe.model.trust_remote_code
    )
    tokenizer = load_tokenizer(recipe.model.name)
    check_against_model(recipe, model, tokenizer, dataset)
    config = trainer_config(recipe, output_dir, weights)
    trainer = _trainer_class(recipe.algorithm.name)(
        model=model,
        reward_funcs=reward_functions,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=_lora_config(recipe),
    )
    zero_dropout_rates(trainer.model)  # trl's disable_dropout leaves the rates attention layers read
    if getattr(trainer, "ref_model", None) is not None:
        zero_dropout_rates(trainer.ref_model)
    for callback in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(callback)
    metrics = MetricsWriter(output_dir, accounting=trainer, reward_functions=reward_functions)
    trainer.add_callback(metrics)
    trainer.add_callback(CheckpointState(trainer))
    if console is not None:
        trainer.add_callback(RichProgress(console, metrics, description=recipe.algorithm.name))
    trainer.gnivo_reward_functions = reward_functions
    return trainer, metrics


def train(recipe: Recipe, *, resume: bool = False, console: Any = None) -> TrainResult:
    """Train with a validated recipe. `console` (rich) shows live progress; None trains quietly.

    SIGINT/SIGTERM end the current step, save a checkpoint and raise `TrainingInterrupted`.
    """
    from gnivo_cli.training.prompt_preview import prompts_file_text, received_prompts, show_prompt
    from gnivo_cli.training.resume import apply_plan, plan_start, record_resume

    _quiet_library_warnings()
    output_dir = Path(recipe.training.output_dir)
    plan = plan_start(recipe, output_dir, resume)
    for note in plan.notes:
        _say(console, note)
    if plan.finished:
        return _finished_result(output_dir)

    started = time.perf_counter()
    trainer, _ = build_trainer(recipe, output_dir, console=console)
    # Nothing is written before the model, data and rewards have loaded: a failed start leaves no trace.
    if trainer.accelerator.is_main_process:
        prompts = received_prompts(trainer)
        if console is not None and prompts:
            show_prompt(console, prompts[0])
        output_dir.mkdir(parents=True, exist_ok=True)
        apply_plan(plan, output_dir)
        write_text_atomic(output_dir / run_files.RECIPE_FILE, recipe.to_yaml())
        write_text_atomic(output_dir / run_files.PROMPTS_FILE, prompts_file_text(prompts))
        if plan.resumed:
            record_resume(plan, output_dir)
    trainer.accelerator.wait_for_everyone()
    _run(trainer, plan, console)
    final_dir = output_dir / run_files.FINAL_DIR
    trainer.save_model(str(final_dir))
    if trainer.accelerator.is_main_process:
        trainer.processing_class.save_pretrained(str(final_dir))

    from gnivo_cli.compare.curves import final_reward
    from gnivo_cli.compare.run_records import load_run
    from gnivo_cli.training.callbacks import BOXED_CORRECT_SHARE, peak_memory_mb

    run = load_run(output_dir) if trainer.accelerator.is_main_process else None
    result = TrainResult(
        output_dir=output_dir,
        steps=trainer.state.global_step,
        total_time=time.perf_counter() - started,
        timings=trainer.timing_breakdown(),
        final_reward=final_reward(run) if run else None,
        final_boxed_correct_share=final_reward(run, BOXED_CORRECT_SHARE) if run else None,
        peak_memory_mb=round(peak_memory_mb(), 1),
    )
    if trainer.accelerator.is_main_process:
        _write_summary(recipe, result, trainer)
    return result


def _run(trainer: Any, plan: Any, console: Any) -> None:
    """trainer.train, resumed where the plan says, stopping cleanly on SIGINT/SIGTERM."""
    from gnivo_cli.training.checkpoint_state import GracefulStop, restore_checkpoint_state, stop_on_signals

    stop = GracefulStop(trainer)
    trainer.add_callback(stop)
    if plan.checkpoint is not None:
        restore_checkpoint_state(trainer, plan.checkpoint)
    try:
        with stop_on_signals(stop, lambda message: _say(console, message)):
            trainer.train(resume_from_checkpoint=str(plan.checkpoint) if plan.checkpoint else None)
    finally:
        for callback in trainer.callback_handler.callbacks:
            getattr(callback, "close", lambda: None)()  # restores the terminal (cursor) on any exit
        for function in trainer.gnivo_reward_functions:
            function.reward.close()
    if stop.requested and trainer.state.global_step < trainer.state.max_steps:
        step = trainer.state.global_step
        raise TrainingInterrupted(
            f"stopped by {signal_name(stop.signal)} after step {step}; checkpoint-{step} saved",
            signum=stop.signal,
            step=step,
            output_dir=trainer.args.output_dir,
        )


def signal_name(signum: int | None) -> str:
    import signal

    return signal.Signals(signum).name if signum else "a signal"


def _finished_result(output_dir: Path) -> TrainResult:
    summary = run_files.read_json(output_dir / run_files.SUMMARY_FILE) or {}
    return TrainResult(
        output_dir=output_dir,
        steps=int(summary.get("steps", 0)),
        total_time=0.0,
        timings=summary.get("timings", {}),
        final_reward=summary.get("final_reward"),
        final_boxed_correct_share=summary.get("final_boxed_correct_share"),
        peak_memory_mb=summary.get("peak_memory_mb"),
        already_finished=True,
    )


def _say(console: Any, message: str) -> None:
    if console is not None:
        console.print(f"[yellow]{message}[/]", highlight=False, soft_wrap=True)


def _quiet_library_warnings() -> None:
    """Deprecation notices and progress bars of transformers/trl internals are not the user's to act on."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|trl|peft)\b")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(transformers|trl|peft)\b")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # weight loading/saving bars would break the live display


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
    if result.final_boxed_correct_share is not None:
        summary["final_boxed_correct_share"] = result.final_boxed_correct_share
    write_json_atomic(result.output_dir / run_files.SUMMARY_FILE, summary)
