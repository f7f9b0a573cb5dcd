"""What a checkpoint must carry beyond trl's own state, and stopping cleanly after a signal.

trl/transformers checkpoints hold the weights, optimizer, scheduler and the global RNGs. A resumed gnivo
run also needs its counters (samples and tokens generated, reward counters: `gnivo compare` budgets on
them) and the trainer's private random generators (group shuffles, sampled prefix points). They go into
`gnivo_state.json` and `gnivo_rng.pt`, written after everything else, so the state file marks a
checkpoint as complete.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from gnivo_cli.errors import TrainingInterrupted
from gnivo_cli.files.atomic import write_json_atomic
from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.training import run_files
from gnivo_cli.training.stopping import StopRequest, signal_name


def _generators(trainer: Any) -> dict[str, Any]:
    import torch

    return {name: value for name, value in vars(trainer).items() if isinstance(value, torch.Generator)}


def _reward_functions(trainer: Any) -> list[Any]:
    return list(getattr(trainer, "gnivo_reward_functions", []))


class CheckpointState(TrainerCallback):
    """Completes each checkpoint with gnivo's state (on the main process, after trl has saved)."""

    def __init__(self, trainer: Any):
        self.trainer = trainer

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        import torch

        folder = run_files.checkpoint_dir(args.output_dir, state.global_step)
        if not folder.is_dir():
            return
        generator_states = {name: g.get_state() for name, g in _generators(self.trainer).items()}
        torch.save(generator_states, folder / run_files.CHECKPOINT_RNG_FILE)
        counters = capture_counters(self.trainer, state.global_step)
        write_json_atomic(folder / run_files.CHECKPOINT_STATE_FILE, counters)  # last: marks it complete


def capture_counters(trainer: Any, step: int) -> dict[str, Any]:
    return {
        "step": step,
        "samples_generated": int(getattr(trainer, "samples_generated", 0)),
        "tokens_generated": int(getattr(trainer, "tokens_generated", 0)),
        "timings": dict(getattr(trainer, "timings", {})),
        "reward_counters": {f.__name__: dict(f.counters) for f in _reward_functions(trainer)},
        "world_size": trainer.accelerator.num_processes if hasattr(trainer, "accelerator") else 1,
    }


def restore_checkpoint_state(trainer: Any, checkpoint: Path) -> None:
    """Put counters and private generators back as they were when `checkpoint` was saved."""
    import torch

    saved = read_json_object(checkpoint / run_files.CHECKPOINT_STATE_FILE, invalid="none") or {}
    trainer.samples_generated = int(saved.get("samples_generated", 0))
    trainer.tokens_generated = int(saved.get("tokens_generated", 0))
    if hasattr(trainer, "timings"):
        trainer.timings.update(saved.get("timings", {}))
    counters = saved.get("reward_counters", {})
    for function in _reward_functions(trainer):
        function.counters.update(counters.get(function.__name__, {}))
    rng_file = checkpoint / run_files.CHECKPOINT_RNG_FILE
    if rng_file.is_file():
        states = torch.load(rng_file, weights_only=True)
        for name, generator in _generators(trainer).items():
            if name in states:
                generator.set_state(states[name])


def steps_per_batch(args: Any) -> int:
    """Optimizer steps trained on one generated batch: `num_iterations` passes (trl generates once per
    `steps_per_generation` micro-batches and reuses the batch `num_iterations` times)."""
    if args is None:
        return 1
    per_generation = getattr(args, "steps_per_generation", None) or args.gradient_accumulation_steps
    return max(1, per_generation * getattr(args, "num_iterations", 1) // args.gradient_accumulation_steps)


class GracefulStop(TrainerCallback):
    """After a stop request, the step in progress ends, a checkpoint is saved, and training stops.

    With `num_iterations` > 1 it stops after the last pass over the generated batch, where a checkpoint
    resumes exactly (the batch itself is not saved). With several processes the request is shared at each
    step end, so all of them stop after the same step, whichever process the signal reached first. The
    request itself (`gnivo_cli.training.stopping`) is recorded from the run's start.
    """

    def __init__(self, trainer: Any = None, request: StopRequest | None = None) -> None:
        self.request = request or StopRequest()
        self.random_state: dict[str, Any] | None = None
        self.trainer = trainer
        self.steps_per_batch = self.request.steps_per_batch = steps_per_batch(getattr(trainer, "args", None))

    @property
    def signal(self) -> int | None:
        return self.request.signal

    @signal.setter
    def signal(self, value: int | None) -> None:
        self.request.signal = value

    @property
    def requested(self) -> bool:
        return self.request.requested

    def _anyone_requested(self) -> bool:
        accelerator = getattr(self.trainer, "accelerator", None)
        if accelerator is None or accelerator.num_processes == 1:
            return self.requested
        import torch

        flag = torch.tensor([1.0 if self.requested else 0.0], device=accelerator.device)
        return bool(accelerator.reduce(flag, reduction="sum").item() > 0)

    def on_step_end(self, args, state, control, **kwargs):
        if getattr(self.trainer, "accelerator", None) is not None and self.trainer.accelerator.num_processes == 1:
            # What a checkpoint of this step holds; saved instead if the next step's generation is dropped.
            self.random_state = capture_random_state(self.trainer)
        if self._anyone_requested() and state.global_step % self.steps_per_batch == 0:
            if self.signal is None:
                self.signal = signal.SIGTERM  # another process was asked to stop
            control.should_save = True
            control.should_training_stop = True
        return control


def capture_random_state(trainer: Any) -> dict[str, Any]:
    """Every random stream a checkpoint saves: Python's, numpy's, torch's (CPU, CUDA) and the trainer's own."""
    import random

    import numpy as np
    import torch

    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "cpu": torch.random.get_rng_state(),
        "trainer": {name: g.get_state() for name, g in _generators(trainer).items()},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.random.get_rng_state_all()
    return state


def save_checkpoint_before_dropped_step(trainer: Any, stop: GracefulStop) -> bool:
    """After a dropped step (`GenerationAbandoned`), save the checkpoint of the step before it, as it was when
    that step ended, so a resume repeats the run exactly. False where there is nothing to save (no step
    trained yet, or that checkpoint exists)."""
    import random

    import numpy as np
    import torch

    step = trainer.state.global_step
    if step == 0 or run_files.is_complete_checkpoint(run_files.checkpoint_dir(trainer.args.output_dir, step)):
        return False
    saved = stop.random_state
    if saved is not None:
        random.setstate(saved["python"])
        np.random.set_state(saved["numpy"])
        torch.random.set_rng_state(saved["cpu"])
        if "cuda" in saved:
            torch.cuda.random.set_rng_state_all(saved["cuda"])
        for name, generator in _generators(trainer).items():
            if name in saved["trainer"]:
                generator.set_state(saved["trainer"][name])
    trainer._save_checkpoint(trainer.model, trial=None)
    trainer.callback_handler.on_save(trainer.args, trainer.state, trainer.control)  # gnivo's part, last
    return True


def interruption(trainer: Any, stop: GracefulStop, dropped: int | None, output_dir: str) -> TrainingInterrupted | None:
    """The error that ends a stopped run (None where the run finished): after a step, or with a dropped one."""
    step = trainer.state.global_step
    name = signal_name(stop.signal)
    if dropped is not None:
        kept = f"checkpoint-{step} saved" if step else "no step was trained yet, so a resume starts at step 0"
        return TrainingInterrupted(
            f"stopped by {name} while step {dropped} generated (that step is dropped); {kept}",
            signum=stop.signal or signal.SIGINT,
            step=step,
            output_dir=output_dir,
        )
    if stop.requested and step < trainer.state.max_steps:
        return TrainingInterrupted(
            f"stopped by {name} after step {step}; checkpoint-{step} saved",
            signum=stop.signal,
            step=step,
            output_dir=output_dir,
        )
    return None
