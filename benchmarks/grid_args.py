"""The command-line options shared by the benchmark scripts that train an algorithm x seed grid."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

REPO = Path(__file__).resolve().parents[1]


def grid_parser(description: str, *, algorithms: str, output_dir: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "quickstart.yaml")
    parser.add_argument("--algorithms", default=algorithms)
    parser.add_argument("--seeds", default="3", help="a count (from the recipe's seed on) or a list: 0,1,2")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override key=value")
    parser.add_argument("--output-dir", type=Path, default=REPO / "runs" / output_dir)
    parser.add_argument("--fresh", action="store_true", help="delete the output dir first (no reuse of runs)")
    return parser


def load_grid(args: argparse.Namespace) -> tuple[Any, list[str], list[int]]:
    """(base recipe, algorithms, seeds) from the options; a GnivoError names what is wrong. --fresh clears."""
    from gnivo_cli.compare.plan import parse_algorithms, parse_seeds
    from gnivo_cli.recipe.loader import load_recipe

    base = load_recipe(args.recipe, args.overrides)
    algorithms = parse_algorithms(args.algorithms)
    seeds = parse_seeds(args.seeds, base.training.seed)
    if args.fresh and args.output_dir.exists():
        shutil.rmtree(args.output_dir)
    return base, algorithms, seeds


def exit_with(main: Callable[[], int]) -> NoReturn:
    """Run a grid script's main: a GnivoError raised on the way (a run dir trained with another recipe) is one
    line and exit code 1, as in the CLI, not a traceback after hours of finished runs."""
    from gnivo_cli.errors import GnivoError

    try:
        code = main()
    except GnivoError as error:
        print(f"error: {error}", file=sys.stderr)
        code = 1
    sys.exit(code)
