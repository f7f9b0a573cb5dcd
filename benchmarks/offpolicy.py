"""Does GN-IVO use several passes over a batch better than GRPO? The off-policy regime, on the quickstart task.

With `num_iterations: 1` the policy never leaves pi_old inside a batch, and the GN-IVO gradient is a
REINFORCE step (docs/algorithm.md); with 2 or 4 passes over each generated batch the objectives part.
This script trains gnivo (prefix all), gnivo-onestep (prefix final) and trl's GRPO (with its clipping) at
num_iterations 1, 2 and 4, for the given seeds, with the same recipe and the same number of generated
samples per run, then tabulates and plots all nine settings side by side. Equivalent to three

    gnivo compare recipes/quickstart.yaml -a gnivo,gnivo-onestep,grpo --seeds 3 \\
        --set algorithm.num_iterations=N -o runs/benchmark-offpolicy/iters-N

(N = 1, 2, 4), whose runs it reads back as `gnivo xN`, `gnivo-onestep xN`, `grpo xN`.

Usage:
    GNIVO_CACHE=/tmp/gcache python benchmarks/offpolicy.py                 # the full measurement
    python benchmarks/offpolicy.py --seeds 1 --set training.max_steps=2     # a smoke run of the script

Optimizer steps grow with num_iterations (trl takes one step per pass), so the runs are compared by
generated samples: `training.max_steps` is multiplied by N to keep the samples per run equal.
Finished runs are reused (an interrupted measurement continues) unless --fresh.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import time
from datetime import UTC, datetime

from grid_args import grid_parser, load_grid

ITERATIONS = (1, 2, 4)


def main() -> int:
    parser = grid_parser(
        __doc__.splitlines()[0], algorithms="gnivo,gnivo-onestep,grpo", output_dir="benchmark-offpolicy"
    )
    parser.add_argument("--iterations", default=",".join(map(str, ITERATIONS)))
    args = parser.parse_args()

    from gnivo_cli.compare.curves import compare_runs
    from gnivo_cli.compare.grid import run_compare
    from gnivo_cli.compare.plot import plot_by_algorithm, plot_comparison
    from gnivo_cli.compare.run_records import find_runs
    from gnivo_cli.compare.table import summary_markdown
    from gnivo_cli.errors import GnivoError

    try:
        iterations = [int(item) for item in args.iterations.split(",")]
        base, algorithms, seeds = load_grid(args)
    except (GnivoError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()
    labelled = []
    failures = 0
    for n in iterations:
        recipe = base.with_overrides(
            [f"algorithm.num_iterations={n}", f"training.max_steps={base.training.max_steps * n}"]
        )
        folder = args.output_dir / f"iters-{n}"
        result = run_compare(recipe, algorithms, seeds, folder, on_end=_report)
        failures += len(result.failures)
        labelled += [dataclasses.replace(run, algorithm=f"{run.algorithm} x{n}") for run in find_runs([folder])]
    order = [f"{name} x{n}" for name in algorithms for n in iterations]
    comparison = compare_runs(labelled, order=order)
    figure = args.output_dir / "offpolicy.png"
    plot_comparison(comparison, figure, title="num_iterations: passes over each generated batch")
    by_algorithm = args.output_dir / "offpolicy_by_algorithm.png"
    plot_by_algorithm(comparison, by_algorithm, title="reward at the same sampling budget, per num_iterations")
    wall = time.perf_counter() - started

    print(f"## offpolicy.py: {', '.join(algorithms)} x num_iterations {args.iterations} x seeds {seeds}\n")
    print(f"- started {started_at}; {wall / 60:.1f} min wall; machine: {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"- recipe: {args.recipe.name}" + (f" with {' '.join(args.overrides)}" if args.overrides else ""))
    print("- max_steps x N for num_iterations N: the same generated samples per run\n")
    print(summary_markdown(comparison, title="off-policy regime", figure=str(figure)).split("\n", 2)[2])
    print(f"![reward against samples, one panel per algorithm]({by_algorithm})")
    return 1 if failures else 0


def _report(index: int, total: int, outcome) -> None:
    detail = f" ({outcome.error})" if outcome.error else f" in {outcome.seconds:.0f} s"
    print(
        f"[{index}/{total}] {outcome.run.algorithm} seed {outcome.run.seed}: {outcome.status}{detail}", file=sys.stderr
    )


if __name__ == "__main__":
    sys.exit(main())
