"""`gnivo train --num-processes N`: relaunch the same command under `accelerate launch`.

Several processes are accelerate's job (DDP, DeepSpeed, FSDP); gnivo only builds the command line, so
`gnivo train --num-processes 2 RECIPE` and `accelerate launch --num_processes 2 -m gnivo_cli train RECIPE`
are the same run.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from gnivo_cli.errors import GnivoError

#: Set by torchrun/accelerate in every worker: a worker never relaunches itself.
_WORKER_VARIABLES = ("LOCAL_RANK", "WORLD_SIZE")
#: gnivo's own launch options: the relaunched command runs without them.
LAUNCH_OPTIONS = ("--num-processes", "--accelerate-config")
#: The command as the user typed it, for the workers' messages (how to resume, for one).
ORIGINAL_COMMAND_VARIABLE = "GNIVO_LAUNCHED_AS"


_invocation: list[str] = []


def record_invocation(argv: list[str]) -> None:
    """Remember the arguments `gnivo` was called with (the CLI's entry point does, once)."""
    _invocation[:] = list(argv)


def invocation() -> list[str]:
    """The arguments this `gnivo` was called with."""
    return list(_invocation)


def in_launched_worker() -> bool:
    return any(name in os.environ for name in _WORKER_VARIABLES)


def process_place() -> tuple[int, int, int]:
    """(rank, world size, local rank) in a torchrun/accelerate launch; (0, 1, 0) when not launched."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    return int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))


def is_main_process() -> bool:
    """Process 0 of a launch, or the only process: the one that reports to the user."""
    return process_place()[0] == 0


def accelerate_command(
    gnivo_args: list[str], *, num_processes: int | None, config_file: Path | None, cpu: bool
) -> list[str]:
    """The `accelerate launch` command that runs `python -m gnivo_cli GNIVO_ARGS` in each process."""
    command = [sys.executable, "-m", "accelerate.commands.launch"]
    if config_file is not None:
        if not config_file.is_file():
            raise GnivoError(f"--accelerate-config: {config_file}: no such file")
        command += ["--config_file", str(config_file)]
    if num_processes is not None:
        if num_processes < 1:
            raise GnivoError(f"--num-processes must be >= 1, got {num_processes}")
        command += ["--num_processes", str(num_processes)]
        if config_file is None:
            command += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    if cpu and config_file is None and (num_processes or 1) > 1:
        # accelerate's `--cpu` launcher starts one process; torchrun's (behind --multi_gpu) starts N, and
        # ACCELERATE_USE_CPU (see `launch_environment`) makes them a gloo group on the CPU.
        command.append("--multi_gpu")
    return [*command, "-m", "gnivo_cli", *gnivo_args]


def launch_environment(cpu: bool) -> dict[str, str]:
    """The environment for the launched processes: on a machine without CUDA, a CPU (gloo) process group."""
    return {**os.environ, "ACCELERATE_USE_CPU": "1"} if cpu else dict(os.environ)


def without_launch_options(argv: list[str]) -> list[str]:
    """`argv` less `--num-processes N` and `--accelerate-config FILE` (also in their `--opt=value` form)."""
    kept: list[str] = []
    skip_value = False
    for item in argv:
        if skip_value:
            skip_value = False
        elif item in LAUNCH_OPTIONS:
            skip_value = True
        elif not item.startswith(tuple(f"{option}=" for option in LAUNCH_OPTIONS)):
            kept.append(item)
    return kept


def original_command(argv: list[str]) -> list[str]:
    """The `gnivo` arguments the user typed: `argv`, or, in a launched worker, the command that launched it."""
    typed = os.environ.get(ORIGINAL_COMMAND_VARIABLE)
    return shlex.split(typed) if typed else list(argv)


def relaunch(gnivo_args: list[str], *, num_processes: int | None, config_file: Path | None) -> int:
    """Run `gnivo GNIVO_ARGS` (launch options removed) under accelerate and return its exit code."""
    typed = shlex.join(gnivo_args)
    gnivo_args = without_launch_options(gnivo_args)
    import torch

    cpu = not torch.cuda.is_available()
    command = accelerate_command(gnivo_args, num_processes=num_processes, config_file=config_file, cpu=cpu)
    process = subprocess.Popen(command, env={**launch_environment(cpu), ORIGINAL_COMMAND_VARIABLE: typed})
    received: list[int] = []

    def forward(signum: int, frame: object) -> None:
        received.append(signum)
        if signum == signal.SIGTERM:  # a scheduler signals this process alone; Ctrl-C reaches the group
            process.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = process.wait()  # the workers finish their step and save before the launch ends
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 128 + received[0] if received and code != 0 else code


def command_text(limit: int = 120) -> str:
    """The `gnivo` command this process runs for the user, as lock files and messages show it, shortened."""
    text = shlex.join(["gnivo", *(original_command(invocation()) or sys.argv[1:])])
    return text if len(text) <= limit else text[: limit - 3] + "..."
