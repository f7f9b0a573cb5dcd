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
from gnivo_cli.errors import GnivoError
from gnivo_cli.files.atomic import write_text_atomic
from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.files.paths import disk_full_message
from gnivo_cli.recipe.loader import Recipe
from gnivo_cli.training import run_files, summary


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
        report_to=train.report_to,
        project=train.project,
        run_name=train.run_name or output_dir.name,
        disable_tqdm=True,
        # Sampling, old/reference log-probs and the loss see one policy (gnivo_cli/models/dropout.py).
        disable_dropout=True,
        log_completions=False,  # gnivo writes every completion itself (completions.jsonl)
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

    from gnivo_cli.algorithms.reward_functions import check_reward_columns
    from gnivo_cli.data.loading import load_training_dataset
    from gnivo_cli.models.checks import check_against_model
    from gnivo_cli.models.dropout import zero_dropout_rates
    from gnivo_cli.models.loading import load_causal_lm, load_tokenizer
    from gnivo_cli.models.vllm_setup import prepare_training
    from gnivo_cli.training.callbacks import MetricsWriter, RichProgress
    from gnivo_cli.training.checkpoint_state import CheckpointState
    from gnivo_cli.training.completions import CompletionLog
    from gnivo_cli.training.held_out import HeldOutEval
    from gnivo_cli.training.trackers import check_trackers, first_tracker_index, guard_trackers, set_tracker_defaults

    prepare_training(recipe)  # vLLM generation: a clear error without it; on a CPU, settings that run there
    check_trackers(recipe)  # a tracker named but not installed: one line, before anything loads
    set_tracker_defaults(recipe)
    set_seed(recipe.training.seed)
    dataset = load_training_dataset(recipe)
    reward_functions, weights = load_reward_functions(recipe)
    check_reward_columns(recipe, reward_functions, dataset.column_names)  # before the model: fails in seconds
    model = load_causal_lm(
        recipe.model.name, dtype=recipe.model.dtype, trust_remote_code=recipe.model.trust_remote_code
    )
    tokenizer = load_tokenizer(recipe.model.name, trust_remote_code=recipe.model.trust_remote_code)
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
    guard_trackers(trainer, output_dir, warn=(lambda message: _say(console, message)) if console else None)
    # Callbacks that add gnivo's numbers to a step's logs come before the trackers that log them.
    before_trackers = first_tracker_index(trainer)
    metrics = MetricsWriter(output_dir, accounting=trainer, reward_functions=reward_functions)
    trainer.callback_handler.callbacks.insert(before_trackers, metrics)
    held_out = HeldOutEval(trainer, recipe, output_dir) if recipe.training.eval is not None else None
    if held_out is not None:
        trainer.callback_handler.callbacks.insert(before_trackers, held_out)
    trainer.add_callback(CheckpointState(trainer))
    if console is not None:
        progress = RichProgress(console, metrics, description=recipe.algorithm.name)
        trainer.add_callback(progress)
        if held_out is not None:
            held_out.listeners.append(progress.show_held_out)
    if recipe.training.log_completions:
        trainer.rollout_hooks.append(CompletionLog(output_dir / run_files.COMPLETIONS_FILE))
    trainer.gnivo_reward_functions = reward_functions
    return trainer, metrics


def train(recipe: Recipe, *, resume: bool = False, console: Any = None) -> TrainResult:
    """Train with a validated recipe. `console` (rich) shows live progress; None trains quietly.

    The run directory is locked for the whole run (`gnivo_cli.training.run_lock`). SIGINT/SIGTERM while
    training end the current step, save a checkpoint and raise `TrainingInterrupted`; before training
    starts they stop it at once, with nothing written, and raise it too.
    """
    from gnivo_cli.training.launch import process_place
    from gnivo_cli.training.prompt_preview import prompts_file_text, received_prompts, show_prompt
    from gnivo_cli.training.resume import apply_plan, plan_start, record_resume
    from gnivo_cli.training.run_lock import locked_run_dir
    from gnivo_cli.training.stopping import StopRequest, stop_on_signals

    # Absolute: a reward (or anything else) that changes the working directory cannot move where the run goes.
    output_dir = Path(recipe.training.output_dir).absolute()
    stop = StopRequest()
    with stop_on_signals(stop, lambda message: _say(console, message)), locked_run_dir(output_dir, resume=resume):
        try:
            quiet_library_warnings()
            plan = plan_start(recipe, output_dir, resume, world_size=process_place()[1])
            for note in plan.notes:
                _say(console, note)
            if not plan.finished:
                started = time.perf_counter()
                trainer, _ = build_trainer(recipe, output_dir, console=console)
            if stop.requested:  # the interrupt was swallowed by a library while it loaded
                raise KeyboardInterrupt
            # From the first write on, a signal finishes what is under way instead of interrupting it.
            stop.committed = True
        except KeyboardInterrupt:
            raise stop.before_start(recipe.training.output_dir, resumable=resume) from None
        if plan.finished:
            return _finished_result(recipe, output_dir, plan)
        if trainer.accelerator.is_main_process:
            prompts = received_prompts(trainer)
            if console is not None and prompts:
                show_prompt(console, prompts[0])
            apply_plan(plan, output_dir)
            write_text_atomic(output_dir / run_files.RECIPE_FILE, run_files.recipe_text(recipe.to_yaml()))
            write_text_atomic(output_dir / run_files.PROMPTS_FILE, prompts_file_text(prompts))
            if plan.resumed:
                record_resume(plan, output_dir)
        trainer.accelerator.wait_for_everyone()
        try:
            _run(trainer, plan, stop, recipe)
            final_dir = output_dir / run_files.FINAL_DIR
            trainer.save_model(str(final_dir))
            if trainer.accelerator.is_main_process:
                trainer.processing_class.save_pretrained(str(final_dir))
        except (OSError, RuntimeError) as error:
            if (full := disk_full_message(error, output_dir)) is None:
                raise
            saved = run_files.latest_checkpoint(output_dir)
            since = f"the last complete checkpoint, {saved.name}" if saved else "step 0 (no complete checkpoint)"
            raise GnivoError(f"{full} while saving; free some space, then --resume goes on from {since}") from error
        return _finish(recipe, trainer, output_dir, time.perf_counter() - started)


def _finish(recipe: Recipe, trainer: Any, output_dir: Path, seconds: float) -> TrainResult:
    from gnivo_cli.training.callbacks import peak_memory_mb

    main = trainer.accelerator.is_main_process
    reward, share = summary.final_values(output_dir) if main else (None, None)
    result = TrainResult(
        output_dir=output_dir,
        steps=trainer.state.global_step,
        total_time=seconds,
        timings=trainer.timing_breakdown(),
        final_reward=reward,
        final_boxed_correct_share=share,
        peak_memory_mb=round(peak_memory_mb(), 1),
    )
    if main:
        from gnivo_cli.training.model_card import write_model_card

        summary.write_summary(output_dir, summary.trainer_summary(recipe, trainer, result))
        write_model_card(output_dir, output_dir / run_files.FINAL_DIR, "adapter" if recipe.lora.enabled else "full")
    return result


def _run(trainer: Any, plan: Any, request: Any, recipe: Recipe) -> None:
    """trainer.train, resumed where the plan says, stopping cleanly on SIGINT/SIGTERM."""
    from gnivo_cli.algorithms.baselines import GenerationAbandoned
    from gnivo_cli.training.checkpoint_state import (
        GracefulStop,
        interruption,
        restore_checkpoint_state,
        save_checkpoint_before_dropped_step,
    )

    stop = GracefulStop(trainer, request)
    trainer.add_callback(stop)
    trainer.gnivo_stop = request  # a stop request also ends a long generation early
    if plan.checkpoint is not None:
        restore_checkpoint_state(trainer, plan.checkpoint)
    dropped = None
    try:
        trainer.train(resume_from_checkpoint=str(plan.checkpoint) if plan.checkpoint else None)
    except GenerationAbandoned as abandoned:
        dropped = abandoned.step
        save_checkpoint_before_dropped_step(trainer, stop)
    finally:
        for callback in trainer.callback_handler.callbacks:
            getattr(callback, "close", lambda: None)()  # restores the terminal (cursor) on any exit
        for function in trainer.gnivo_reward_functions:
            function.reward.close()
    error = interruption(trainer, stop, dropped, recipe.training.output_dir)
    if error is not None:
        raise error


def _finished_result(recipe: Recipe, output_dir: Path, plan: Any) -> TrainResult:
    from gnivo_cli.training.launch import is_main_process

    if plan.rebuild_from is not None and is_main_process():
        record = summary.finish_from_checkpoint(recipe, output_dir, plan.rebuild_from)
    else:
        record = read_json_object(output_dir / run_files.SUMMARY_FILE, invalid="none") or {}
    return TrainResult(
        output_dir=output_dir,
        steps=int(record.get("steps", 0)),
        total_time=0.0,
        timings=record.get("timings", {}),
        final_reward=record.get("final_reward"),
        final_boxed_correct_share=record.get("final_boxed_correct_share"),
        peak_memory_mb=record.get("peak_memory_mb"),
        already_finished=True,
    )


def _say(console: Any, message: str) -> None:
    if console is not None:
        console.print(f"[yellow]{message}[/]", highlight=False, soft_wrap=True)


def quiet_library_warnings() -> None:
    """Deprecation notices and progress bars of transformers/trl internals are not the user's to act on."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|trl|peft)\b")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(transformers|trl|peft)\b")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # weight loading/saving bars would break the live display
