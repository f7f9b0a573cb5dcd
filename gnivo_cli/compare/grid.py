"""`gnivo compare`: train several algorithms x seeds on one recipe, then compare their learning curves.

Every run gets the same recipe (so the same model, data, rewards, K, batch and steps: the same sampling
budget); only `algorithm.name` and `training.seed` change. Runs go to DIR/<algorithm>/seed-<s>/ and are
trained one after another, each in its own Python process: peak memory is then measured per run (the
resident set of a process only grows), and a crash or an out-of-memory kill costs one run, not the grid.
A failed run is reported and the others go on; rerunning with the same DIR skips finished runs and
resumes interrupted ones from their last checkpoint. DIR/compare.png, DIR/summary.md and DIR/compare.json
are rewritten as runs finish.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gnivo_cli.algorithms.table import ALGORITHMS
from gnivo_cli.compare.curves import Comparison, compare_runs
from gnivo_cli.compare.plan import PlannedRun, plan_runs
from gnivo_cli.compare.plot import plot_comparison
from gnivo_cli.compare.run_records import load_run
from gnivo_cli.compare.table import summary_markdown
from gnivo_cli.errors import GnivoError, TrainingInterrupted
from gnivo_cli.recipe.loader import Recipe, recipe_from_dict
from gnivo_cli.training import run_files

FIGURE_FILE = "compare.png"
SUMMARY_MD = "summary.md"
COMPARE_JSON = "compare.json"


@dataclass
class RunOutcome:
    run: PlannedRun
    status: Literal["trained", "resumed", "skipped", "failed"]
    seconds: float = 0.0
    error: str | None = None


@dataclass
class CompareResult:
    outcomes: list[RunOutcome]
    comparison: Comparison | None
    files: list[Path] = field(default_factory=list)

    @property
    def failures(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


class RunFailed(GnivoError):
    """A training run of the grid failed; the message says why, in one line where possible."""


Launcher = Callable[[PlannedRun, bool], None]


def launch_subprocess(run: PlannedRun, resume: bool) -> None:
    """Train one run in a fresh Python process (its output, live progress included, goes to stderr)."""
    with tempfile.TemporaryDirectory(prefix="gnivo-compare-") as tmp:
        payload = Path(tmp) / "run.json"
        error_file = Path(tmp) / "error.txt"
        payload.write_text(
            json.dumps(
                {"recipe": run.raw, "source": run.recipe.source, "resume": resume, "error_file": str(error_file)}
            )
        )
        code = subprocess.call(
            [sys.executable, "-c", "from gnivo_cli.compare.grid import _child_main; _child_main()", str(payload)],
            stdout=2,  # fd 2: libraries that log to stdout (deepspeed) stay out of the parent's printed report
        )
        if code == 130:
            raise KeyboardInterrupt
        if code != 0:
            message = error_file.read_text(encoding="utf-8").strip() if error_file.is_file() else ""
            raise RunFailed(message or _describe_exit(code))


def _describe_exit(code: int) -> str:
    if code < 0:
        import signal

        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the training process was killed by {name}{hint}"
    return f"the training process exited with code {code}"


def _child_main() -> None:
    """Entry point of the training process `launch_subprocess` starts."""
    import traceback

    from gnivo_cli.files.json_file import read_json_object

    payload = read_json_object(Path(sys.argv[1])) or {}
    error_file = Path(payload["error_file"])
    try:
        from gnivo_cli.console import err_console
        from gnivo_cli.training.train import train

        recipe = recipe_from_dict(payload["recipe"], source=payload["source"])
        train(recipe, resume=payload["resume"], console=err_console)
    except KeyboardInterrupt:
        sys.exit(130)
    except TrainingInterrupted as stopped:  # a signal: the parent sees an interrupt, not a failed run
        sys.exit(stopped.exit_code)
    except GnivoError as error:
        error_file.write_text("; ".join(str(error).splitlines()) or type(error).__name__)
        sys.exit(1)
    except Exception as error:  # a bug, not bad input: keep the traceback for the report
        traceback.print_exc()
        error_file.write_text(f"{type(error).__name__}: {error}")
        sys.exit(1)


def run_compare(
    base: Recipe,
    algorithms: Sequence[str],
    seeds: Sequence[int],
    output_dir: Path,
    *,
    threshold: float | None = None,
    window: int | None = None,
    launcher: Launcher | None = None,
    on_start: Callable[[int, int, PlannedRun], None] | None = None,
    on_end: Callable[[int, int, RunOutcome], None] | None = None,
) -> CompareResult:
    """Train the grid (skipping finished runs), then write the figure and the summaries into `output_dir`.

    `launcher(run, resume)` trains one run and raises on failure; the default starts a process per run.
    """
    output_dir = Path(output_dir)
    launch = launcher or launch_subprocess
    runs = plan_runs(base, algorithms, seeds, output_dir)
    outcomes: list[RunOutcome] = []
    files: list[Path] = []
    comparison = None
    for index, run in enumerate(runs, start=1):
        if on_start:
            on_start(index, len(runs), run)
        outcome = train_planned_run(run, launch)
        outcomes.append(outcome)
        if on_end:
            on_end(index, len(runs), outcome)
        if outcome.status != "skipped" or index == len(runs):
            # Refresh the figure as runs finish: a long grid can be watched (and stopped) midway.
            comparison, files = write_outputs(base, outcomes, output_dir, threshold=threshold, window=window)
    return CompareResult(outcomes, comparison, files)


def train_planned_run(run: PlannedRun, launch: Launcher = launch_subprocess) -> RunOutcome:
    """Train one cell of a grid as its state on disk says (skip, resume, restart); failures are returned."""
    if run.state == "finished":
        return RunOutcome(run, "skipped")
    if run.state == "restart":
        shutil.rmtree(run.path)  # an interrupted run with no checkpoint: nothing to resume from
    started = time.perf_counter()
    try:
        launch(run, run.state == "resume")
    except Exception as error:  # one failed run must not stop the grid
        message = str(error) if isinstance(error, GnivoError) else f"{type(error).__name__}: {error}"
        return RunOutcome(run, "failed", time.perf_counter() - started, message or type(error).__name__)
    if not (run.path / run_files.SUMMARY_FILE).is_file():
        return RunOutcome(run, "failed", time.perf_counter() - started, f"{run.path}: training wrote no summary")
    status: Literal["trained", "resumed"] = "resumed" if run.state == "resume" else "trained"
    return RunOutcome(run, status, time.perf_counter() - started)


def write_outputs(
    base: Recipe,
    outcomes: Sequence[RunOutcome],
    output_dir: Path,
    *,
    threshold: float | None = None,
    window: int | None = None,
) -> tuple[Comparison | None, list[Path]]:
    """compare.png, summary.md and compare.json from the finished runs so far (nothing if none finished)."""
    finished = [o for o in outcomes if o.status != "failed" and (o.run.path / run_files.SUMMARY_FILE).is_file()]
    if not finished:
        return None, []
    order = list(dict.fromkeys(o.run.algorithm for o in outcomes))
    comparison = compare_runs([load_run(o.run.path) for o in finished], threshold=threshold, window=window, order=order)
    comparison.notes += [
        f"failed: {o.run.algorithm} seed {o.run.seed}: {o.error}" for o in outcomes if o.status == "failed"
    ]
    title = f"gnivo compare: {base.source or 'recipe'}"
    figure = plot_comparison(comparison, output_dir / FIGURE_FILE, title=title)
    summary = output_dir / SUMMARY_MD
    summary.write_text(
        summary_markdown(comparison, title=title, preamble=_preamble(base, outcomes), figure=FIGURE_FILE),
        encoding="utf-8",
    )
    data = comparison.to_dict() | {
        "recipe": base.source,
        "failed": [
            {"algorithm": o.run.algorithm, "seed": o.run.seed, "error": o.error}
            for o in outcomes
            if o.status == "failed"
        ],
    }
    compare_json = output_dir / COMPARE_JSON
    compare_json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return comparison, [figure, summary, compare_json]


def _preamble(base: Recipe, outcomes: Sequence[RunOutcome]) -> list[str]:
    algo, train, gen = base.algorithm, base.training, base.generation
    seeds = ", ".join(str(s) for s in dict.fromkeys(o.run.seed for o in outcomes))
    return [
        f"Model `{base.model.name}`, data `{base.data.source}`, K = {algo.num_generations} completions per prompt, "
        f"{train.per_device_batch_size} completions per step, {train.max_steps} optimizer steps, "
        f"at most {gen.max_new_tokens} new tokens: the same budget for every algorithm. Seeds: {seeds}.",
        _owned_settings_note(),
    ]


def _owned_settings_note() -> str:
    """Which algorithms read the recipe's algorithm-specific settings, and which they fix (from the table)."""
    owners = [spec for spec in ALGORITHMS.values() if spec.owns]
    keys = ", ".join(dict.fromkeys(key for spec in owners for key in spec.owns))
    names = ", ".join(
        spec.name + (f" (always {', '.join(f'{k} `{v}`' for k, v in spec.fixed.items())})" if spec.fixed else "")
        for spec in owners
    )
    return f"Algorithm settings ({keys}) apply to {names} only."
