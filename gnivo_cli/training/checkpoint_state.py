"""What a checkpoint must carry beyond trl's own state, and stopping cleanly on a signal.

trl/transformers checkpoints hold the weights, optimizer, scheduler and the global RNGs. A resumed gnivo
run also needs its counters (samples and tokens generated, reward counters: `gnivo compare` budgets on
them) and the trainer's private random generators (group shuffles, sampled prefix points). They go into
`gnivo_state.json` and `gnivo_rng.pt`, written after everything else, so the state file marks a
checkpoint as complete.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from gnivo_cli.files.atomic import write_json_atomic
from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.training import run_files


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
    step end, so all of them stop after the same step, whichever process the signal reached first.
    """

    def __init__(self, trainer: Any = None) -> None:
        self.trainer = trainer
        self.signal: int | None = None
        self.steps_per_batch = steps_per_batch(getattr(trainer, "args", None))

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def _anyone_requested(self) -> bool:
        accelerator = getattr(self.trainer, "accelerator", None)
        if accelerator is None or accelerator.num_processes == 1:
            return self.requested
        import torch

        flag = torch.tensor([1.0 if self.requested else 0.0], device=accelerator.device)
        return bool(accelerator.reduce(flag, reduction="sum").item() > 0)

    def on_step_end(self, args, state, control, **kwargs):
        if self._anyone_requested() and state.global_step % self.steps_per_batch == 0:
            if self.signal is None:
                self.signal = signal.SIGTERM  # another process was asked to stop
            control.should_save = True
            control.should_training_stop = True
        return control


@contextmanager
def stop_on_signals(stop: GracefulStop, announce: Callable[[str], None]) -> Iterator[None]:
    """SIGINT/SIGTERM ask `stop` to finish the step and save; a second one interrupts at once.

    In a process started by a launcher (torchrun, accelerate), further signals are ignored: the launcher
    forwards the terminal's Ctrl-C to its workers a second time within milliseconds, and kills them
    itself when a user insists.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed in the main thread
        return
    from gnivo_cli.training.launch import in_launched_worker, is_main_process

    launched = in_launched_worker()

    def handle(signum: int, frame: Any) -> None:
        if stop.requested:
            if launched:
                return
            raise KeyboardInterrupt
        stop.signal = signum
        if is_main_process():
            name = signal.Signals(signum).name
            again = "" if launched else " (press Ctrl-C again to stop at once)"
            what = "this step" if stop.steps_per_batch == 1 else "the passes over this generated batch"
            announce(f"{name}: finishing {what} and saving a checkpoint{again}")

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
