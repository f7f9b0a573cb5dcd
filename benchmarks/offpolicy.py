"""Does GN-IVO use a generated batch better than GRPO? The quickstart at one and two passes, every method tuned alike.

With `num_iterations: 1` the policy never leaves pi_old inside a batch and the GN-IVO gradient is a
REINFORCE step (docs/algorithm.md); with 2 passes over each generated batch the objectives part. At one
pass: gnivo (prefix all) and trl's GRPO. At two passes: gnivo, GRPO with its clipping and GRPO without it
(grpo-noclip), so that "reuses a batch better" can be told apart from "takes bigger steps". These are the
settings the question needs within a 3-hour budget; `--algorithms` runs others (rloo, gnivo-onestep) at
every pass count.

Two phases, one command:
1. tuning: every setting (algorithm x num_iterations) x each --rates multiple of the recipe's learning
   rate x the --tuning-seeds; each setting keeps the rate with the highest mean reward over training;
2. the grid: every setting at its own rate x the reported --seeds (not the tuning seeds).
Every run generates --batches batches (`training.max_steps` is --batches x N at N passes), so every run
sees the same number of samples. Finished runs are reused (an interrupted command continues); runs go to
OUTPUT_DIR/{tuning/lr-X,grid}/iters-N/.

Usage:
    GNIVO_CACHE=/tmp/gcache OMP_NUM_THREADS=1 python benchmarks/offpolicy.py        # the whole measurement, ~2.7 h
    python benchmarks/offpolicy.py --iterations 1 --algorithms gnivo,grpo --rates 1 --tuning-seeds 100 \\
        --seeds 0,1 --batches 2                                                        # a smoke run

Prints the tables (markdown) for benchmarks/RESULTS.md and writes the figures into --output-dir.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from grid_args import REPO, exit_with, grid_parser

ALGORITHMS_AT = {1: "gnivo,grpo", 2: "gnivo,grpo,grpo-noclip"}


def main() -> int:
    parser = grid_parser(__doc__.splitlines()[0], algorithms="", output_dir="benchmark-offpolicy")
    parser.set_defaults(seeds="0,1,2,3,4")
    parser.add_argument("--iterations", default="1,2")
    parser.add_argument("--rates", default="0.5,1,2", help="multiples of the recipe's learning rate to try")
    parser.add_argument("--batches", type=int, default=24, help="generated batches per run (0: the recipe's)")
    parser.add_argument("--tuning-seeds", default="100")
    parser.add_argument("--threshold", type=float, default=0.5, help="the reward samples-to-threshold counts to")
    parser.add_argument("--smooth", type=int, default=3, help="steps of trailing mean before a threshold crossing")
    parser.add_argument("--jobs", type=int, default=2, help="training processes at once")
    args = parser.parse_args()

    from gnivo_cli.compare.curves import compare_runs
    from gnivo_cli.compare.plan import parse_algorithms, parse_seeds, plan_runs
    from gnivo_cli.compare.plot import plot_by_algorithm, plot_comparison
    from gnivo_cli.compare.run_records import load_run
    from gnivo_cli.errors import GnivoError
    from gnivo_cli.recipe.loader import load_recipe

    try:
        iterations = [int(item) for item in args.iterations.split(",")]
        base = load_recipe(args.recipe, args.overrides)
        settings = [
            (name, n) for n in iterations for name in parse_algorithms(args.algorithms or ALGORITHMS_AT[min(n, 2)])
        ]
        multiples = [float(item) for item in args.rates.split(",")]
        seeds = parse_seeds(args.seeds, base.training.seed)
        tuning_seeds = parse_seeds(args.tuning_seeds, base=None, flag="--tuning-seeds")
        if set(seeds) & set(tuning_seeds):
            raise GnivoError(f"--seeds and --tuning-seeds share {sorted(set(seeds) & set(tuning_seeds))}")
    except ValueError as error:  # a number that does not parse; a GnivoError goes to exit_with's boundary
        print(f"error: {error}", file=sys.stderr)
        return 1

    batches = args.batches or base.training.max_steps

    def recipe_at(n: int, rate: float):
        return base.with_overrides(
            [f"algorithm.num_iterations={n}", f"training.max_steps={batches * n}", f"training.learning_rate={rate}"]
        )

    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()
    rates = [base.training.learning_rate * m for m in multiples]
    tuning = {
        (name, n, rate): plan_runs(
            recipe_at(n, rate), [name], tuning_seeds, args.output_dir / f"tuning/lr-{rate:g}/iters-{n}"
        )
        for name, n in settings
        for rate in rates
    }
    failures = train_runs([run for runs in tuning.values() for run in runs], args.jobs)
    chosen, sweep_rows = {}, []
    for name, n in settings:
        scores = {}
        for rate in rates:
            runs = [load_run(run.path) for run in tuning[name, n, rate] if (run.path / "summary.json").is_file()]
            stats = compare_runs(runs, window=1).stats[0] if runs else None
            scores[rate] = (stats.reward_auc if stats else float("-inf"), stats)
        chosen[name, n] = max(rates, key=lambda rate: scores[rate][0])
        sweep_rows += [(f"{name} x{n}", rate, scores[rate][1], rate == chosen[name, n]) for rate in rates]

    grid = {
        (name, n): plan_runs(recipe_at(n, chosen[name, n]), [name], seeds, args.output_dir / f"grid/iters-{n}")
        for name, n in settings
    }
    order = [run for index in range(len(seeds)) for runs in grid.values() for run in [runs[index]]]  # seed by seed
    failures += train_runs(order, args.jobs)
    labelled = [
        dataclasses.replace(load_run(run.path), algorithm=f"{name} x{n}")
        for (name, n), runs in grid.items()
        for run in runs
        if (run.path / "summary.json").is_file()
    ]
    labels = [f"{name} x{n}" for name, n in settings]
    comparison = compare_runs(labelled, threshold=args.threshold, window=args.smooth, order=labels)
    figure = args.output_dir / "offpolicy.png"
    plot_comparison(comparison, figure, title="num_iterations: passes over each generated batch")
    by_algorithm = args.output_dir / "offpolicy_by_algorithm.png"
    plot_by_algorithm(comparison, by_algorithm, title="reward at the same sampling budget, per num_iterations")

    from offpolicy_report import print_report

    print(f"## offpolicy.py: {', '.join(labels)} x seeds {', '.join(map(str, seeds))}, each at its tuned rate\n")
    print(f"- started {started_at}; {(time.perf_counter() - started) / 60:.1f} min wall (runs trained now and read)")
    print(
        f"- machine: {platform.machine()} CPU, {os.cpu_count()} cores visible, Python {platform.python_version()}; "
        f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.jobs} runs at a time"
    )
    relative = args.recipe.relative_to(REPO) if args.recipe.is_relative_to(REPO) else args.recipe
    print(f"- recipe: {relative}" + (f" with {' '.join(args.overrides)}" if args.overrides else ""))
    print(
        f"- budget: {batches} generated batches of "
        f"{base.training.per_device_batch_size} per run "
        f"(max_steps x N at N passes); rates tried: {', '.join(f'{r:g}' for r in rates)} on tuning seeds "
        f"{', '.join(map(str, tuning_seeds))}"
    )
    print_report(comparison, sweep_rows, chosen, settings, args.threshold, args.smooth, runs=labelled)
    print(f"\n![learning curves]({figure})\n\n![one panel per algorithm]({by_algorithm})")
    for failure in failures:
        print(f"\nfailed: {failure}")
    return 1 if failures else 0


def train_runs(runs, jobs: int) -> list[str]:
    """Train planned runs, `jobs` at a time (each in its own process); the failures, one line each."""
    from gnivo_cli.compare.grid import train_planned_run

    todo = [run for run in runs if run.state != "finished"]
    print(f"training {len(todo)} runs, {jobs} at a time", file=sys.stderr, flush=True)

    def one(run) -> str | None:
        outcome = train_planned_run(run)
        detail = f" ({outcome.error})" if outcome.error else f" in {outcome.seconds:.0f} s"
        print(f"{run.path}: {outcome.status}{detail}", file=sys.stderr, flush=True)
        return f"{run.path}: {outcome.error}" if outcome.status == "failed" else None

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return [failure for failure in pool.map(one, todo) if failure]


if __name__ == "__main__":
    exit_with(main)
