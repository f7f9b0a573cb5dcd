"""Fault cases with hostile reward plugins: a reward that returns 1e300, changes the working directory, calls
sys.exit(3) or raises KeyboardInterrupt. The plugins are installed into a folder of the workspace (an
entry-point distribution on PYTHONPATH), and each case runs `python -m gnivo_cli` with it.
"""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from fault_runs import _finish, _start
from faults import Case, Outcome, Workspace

from gnivo_cli.training import run_files

_PLUGINS = '''
import os, sys, tempfile
from rewards.base import Reward


class Huge(Reward):
    """Finite in float64, inf in float32."""

    def __call__(self, prompts, completions, **columns):
        return [1e300] * len(completions)


class Wanderer(Reward):
    """Moves the working directory elsewhere on every call."""

    def __call__(self, prompts, completions, **columns):
        os.chdir(tempfile.mkdtemp(prefix="gnivo-wanderer-"))
        return [float(len(str(c)) % 3) for c in completions]


class Exiter(Reward):
    def __call__(self, prompts, completions, **columns):
        sys.exit(3)


class Interrupter(Reward):
    def __call__(self, prompts, completions, **columns):
        raise KeyboardInterrupt
'''
NAMES = {"huge": "Huge", "wanderer": "Wanderer", "exiter": "Exiter", "interrupter": "Interrupter"}


def plugin_site(workspace: Workspace) -> Path:
    """A folder that, on PYTHONPATH, installs the hostile rewards under the names in NAMES."""
    site = workspace.path("hostile-site")
    info = site / "gnivo_hostile-1.0.dist-info"
    if not info.is_dir():
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gnivo-hostile\nVersion: 1.0\n")
        points = "".join(f"{name} = gnivo_hostile:{cls}\n" for name, cls in NAMES.items())
        (info / "entry_points.txt").write_text(f"[gnivo.rewards]\n{points}")
        (site / "gnivo_hostile.py").write_text(textwrap.dedent(_PLUGINS))
    return site


def run_with_plugins(workspace: Workspace, args: list[str], timeout_s: float) -> tuple[int | None, str]:
    path = os.pathsep.join(filter(None, [str(plugin_site(workspace)), os.environ.get("PYTHONPATH")]))
    return _finish(_start(workspace, args, {"PYTHONPATH": path}), timeout_s)


def train_with(reward: str) -> Callable[[Workspace, Case], Outcome]:
    """`gnivo train` with a hostile reward; nothing the run writes is left half-done (no checkpoint of a step
    the reward broke)."""

    def run(workspace: Workspace, case: Case) -> Outcome:
        started = time.perf_counter()
        recipe = workspace.recipe(f"reward-{reward}", rewards=[{"name": reward}])
        out = workspace.path(f"run-reward-{reward}")
        code, err = run_with_plugins(workspace, ["train", str(recipe)], case.timeout_s)
        if out.exists() and run_files.checkpoints(out):
            return Outcome(1, f"error: exit {code}, yet a checkpoint was saved: {run_files.checkpoints(out)}")
        return Outcome(code, err, seconds=time.perf_counter() - started)

    return run


def train_with_wanderer(workspace: Workspace, case: Case) -> Outcome:
    """A reward that changes the working directory: the run (output dir given relative) still lands where given."""
    started = time.perf_counter()
    recipe = workspace.recipe("reward-wanderer", rewards=[{"name": "wanderer"}], training={"max_steps": 3})
    relative = "runs/wanderer"
    code, err = run_with_plugins(workspace, ["train", str(recipe), "-o", relative], case.timeout_s)
    out = workspace.root / relative
    steps = [row["step"] for row in run_files.read_metrics(out)] if out.is_dir() else []
    if code != 0 or steps != [1, 2, 3] or not (out / run_files.SUMMARY_FILE).is_file():
        return Outcome(code or 1, f"error: exit {code}, steps {steps}\n{err[-400:]}")
    line = f"trained: steps {steps}, checkpoints, final/ and summary.json in {relative}/ as given"
    return Outcome(0, line, seconds=time.perf_counter() - started)


def score_with(reward: str) -> Callable[[Workspace, Case], Outcome]:
    """`gnivo score` with a reward that exits or interrupts: named, and no .partial files left behind."""

    def run(workspace: Workspace, case: Case) -> Outcome:
        started = time.perf_counter()
        source = workspace.file(f"score-{reward}.jsonl", '{"prompt": "q", "completion": "a", "answer": "1"}\n' * 4)
        code, err = run_with_plugins(workspace, ["score", str(source), "--reward", reward], case.timeout_s)
        left = sorted(p.name for p in workspace.root.glob(f"score-{reward}.scored.jsonl*"))
        if left:
            return Outcome(1, f"error: exit {code}, and it left {left}")
        return Outcome(code, err, seconds=time.perf_counter() - started)

    return run
