"""Does GN-IVO learn better than GRPO and RLOO at the same sampling budget? Measured on the quickstart task.

The quickstart recipe (embedded SmolLM2-135M-Instruct, LoRA, small-number arithmetic) trained with gnivo,
gnivo-onestep, grpo and rloo, 3 seeds each, every run with the same model, data, K, batch and steps.
Sized for about an hour on 2 CPU cores. Equivalent to

    gnivo compare recipes/quickstart.yaml -a gnivo,gnivo-onestep,grpo,rloo --seeds 3 -o runs/benchmark-learning

Usage:
    GNIVO_CACHE=/tmp/gcache python benchmarks/learning.py --fresh        # the full measurement
    python benchmarks/learning.py --seeds 1 --set training.max_steps=2   # a smoke run of the script

Prints the summary table (markdown) for benchmarks/RESULTS.md; the figure is DIR/compare.png. Finished
runs in DIR are reused (so an interrupted measurement continues) unless --fresh.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import UTC, datetime

from grid_args import REPO, grid_parser, load_grid


def main() -> int:
    parser = grid_parser(
        __doc__.splitlines()[0], algorithms="gnivo,gnivo-onestep,grpo,rloo", output_dir="benchmark-learning"
    )
    parser.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args()

    from gnivo_cli.compare.grid import SUMMARY_MD, run_compare
    from gnivo_cli.errors import GnivoError

    try:
        base, algorithms, seeds = load_grid(args)
    except GnivoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()

    def on_start(index, total, run):
        if run.state != "finished":
            print(f"[{index}/{total}] {run.algorithm} seed {run.seed} -> {run.path}", file=sys.stderr, flush=True)

    def on_end(index, total, outcome):
        detail = f" ({outcome.error})" if outcome.error else f" in {outcome.seconds:.0f} s"
        print(
            f"[{index}/{total}] {outcome.run.algorithm} seed {outcome.run.seed}: {outcome.status}{detail}",
            file=sys.stderr,
            flush=True,
        )

    result = run_compare(
        base, algorithms, seeds, args.output_dir, threshold=args.threshold, on_start=on_start, on_end=on_end
    )
    wall = time.perf_counter() - started

    print(f"## learning.py: {', '.join(algorithms)} x seeds {', '.join(map(str, seeds))}\n")
    print(
        f"- started {started_at}; {wall / 60:.1f} min wall for the runs trained now "
        f"({sum(o.status != 'skipped' for o in result.outcomes)} of {len(result.outcomes)})"
    )
    print(
        f"- machine: {platform.machine()} CPU, {os.cpu_count()} cores visible, Python {platform.python_version()}, "
        f"{platform.system()}"
    )
    print(
        f"- recipe: {args.recipe.relative_to(REPO) if args.recipe.is_relative_to(REPO) else args.recipe}"
        + (f" with {' '.join(args.overrides)}" if args.overrides else "")
    )
    print(
        "- per run (wall, including model load): "
        + ", ".join(
            f"{o.run.algorithm}/{o.run.seed} {o.seconds:.0f} s" for o in result.outcomes if o.status != "skipped"
        )
    )
    print()
    summary = args.output_dir / SUMMARY_MD
    if summary.is_file():
        # The table and its definitions, without the title (the section heading above replaces it).
        print(summary.read_text().split("\n", 2)[2].replace("](compare.png)", f"]({args.output_dir / 'compare.png'})"))
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
