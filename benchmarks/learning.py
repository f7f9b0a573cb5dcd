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

import argparse
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "quickstart.yaml")
    parser.add_argument("--algorithms", default="gnivo,gnivo-onestep,grpo,rloo")
    parser.add_argument("--seeds", default="3", help="a count (from the recipe's seed on) or a list: 0,1,2")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override key=value")
    parser.add_argument("--output-dir", type=Path, default=REPO / "runs" / "benchmark-learning")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--fresh", action="store_true", help="delete the output dir first (no reuse of runs)")
    args = parser.parse_args()

    from gnivo_cli import compare
    from gnivo_cli.errors import GnivoError
    from gnivo_cli.recipe import load_recipe

    try:
        base = load_recipe(args.recipe, args.overrides)
        algorithms = compare.parse_algorithms(args.algorithms)
        seeds = compare.parse_seeds(args.seeds, base.training.seed)
    except GnivoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.fresh and args.output_dir.exists():
        shutil.rmtree(args.output_dir)

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

    result = compare.run_compare(
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
    summary = args.output_dir / compare.SUMMARY_MD
    if summary.is_file():
        # The table and its definitions, without the title (the section heading above replaces it).
        print(summary.read_text().split("\n", 2)[2].replace("](compare.png)", f"]({args.output_dir / 'compare.png'})"))
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
