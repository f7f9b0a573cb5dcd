"""The grid of `gnivo compare`: which algorithms and seeds, where each run goes, with which recipe, and what
a rerun finds on disk (finished, interrupted, or trained with another recipe)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gnivo_cli.algorithms.table import ALGORITHMS, SHARED_KEYS, unknown_algorithm
from gnivo_cli.differences import leaf_changes
from gnivo_cli.errors import GnivoError
from gnivo_cli.recipe.loader import Recipe, recipe_from_dict, recorded_recipe
from gnivo_cli.training import run_files


def parse_algorithms(text: str) -> list[str]:
    """`gnivo,grpo` -> ['gnivo', 'grpo'] (order kept, duplicates dropped, names checked)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise GnivoError(f"--algorithms: give a comma-separated list of {', '.join(ALGORITHMS)}")
    for name in names:
        if name not in ALGORITHMS:
            raise GnivoError(f"--algorithms: {unknown_algorithm(name)}")
    return list(dict.fromkeys(names))


def parse_seeds(text: str, base: int | None, flag: str = "--seeds") -> list[int]:
    """`3` -> three seeds from the recipe's `training.seed` (`base`) on; `0,5,7` -> exactly those.

    With `base=None` the text is always a list, so `100` is the one seed 100 (the benchmarks' tuning seeds).
    Errors name `flag`, the option the text came from.
    """
    text = text.strip()
    try:
        if "," in text or base is None:
            seeds = [int(part) for part in text.split(",") if part.strip()]
        else:
            count = int(text)
            if count < 1:
                raise GnivoError(f"{flag}: need at least one seed, got {count}")
            seeds = list(range(base, base + count))
    except ValueError:
        raise GnivoError(f"{flag}: expected a count (3) or a comma-separated list (0,1,2), got {text!r}") from None
    if not seeds:
        raise GnivoError(f"{flag}: need at least one seed")
    return list(dict.fromkeys(seeds))


def default_output_dir(recipe: Recipe) -> Path:
    return Path(recipe.training.output_dir.rstrip("/") + "-compare")


def run_dir(output_dir: Path, algorithm: str, seed: int) -> Path:
    return Path(output_dir) / algorithm / f"seed-{seed}"


def run_recipe_dict(base: Recipe, algorithm: str, seed: int, output_dir: Path) -> dict[str, Any]:
    """The base recipe with another algorithm, seed and output dir, as the dict a recipe file would hold.

    Each algorithm keeps only the keys it may set (see gnivo_cli.algorithms.table): the baselines drop the
    GN-IVO settings, and gnivo-onestep drops `prefix` (always `final`).
    """
    raw = base.to_dict()
    keep = {"name", *SHARED_KEYS, *ALGORITHMS[algorithm].free_keys}
    raw["algorithm"] = {key: value for key, value in raw["algorithm"].items() if key in keep}
    raw["algorithm"]["name"] = algorithm
    raw["training"]["seed"] = seed
    raw["training"]["output_dir"] = str(output_dir)
    return raw


@dataclass
class PlannedRun:
    """One cell of the grid, with what a rerun found on disk."""

    algorithm: str
    seed: int
    path: Path
    raw: dict[str, Any]  # the run's recipe as a dict (what the training process rebuilds it from)
    recipe: Recipe
    state: Literal["new", "finished", "resume", "restart"] = "new"


def plan_runs(base: Recipe, algorithms: Sequence[str], seeds: Sequence[int], output_dir: Path) -> list[PlannedRun]:
    """Every algorithm x seed, seed by seed (an interrupted grid still has every algorithm), checked on disk.

    Raises GnivoError before anything trains if a run already in DIR used a different recipe.
    """
    runs = []
    for seed in seeds:
        for algorithm in algorithms:
            path = run_dir(output_dir, algorithm, seed)
            raw = run_recipe_dict(base, algorithm, seed, path)
            recipe = recipe_from_dict(raw, source=base.source)
            state: Literal["new", "finished", "resume", "restart"] = "new"
            if path.is_dir() and any(path.iterdir()):
                _check_same_recipe(path, recipe)
                if (path / run_files.SUMMARY_FILE).is_file():
                    state = "finished"
                else:
                    # `--resume` also sorts out a checkpoint left half-written
                    state = "resume" if run_files.checkpoints(path) else "restart"
            runs.append(PlannedRun(algorithm, seed, path, raw, recipe, state))
    return runs


def _check_same_recipe(path: Path, recipe: Recipe) -> None:
    if not (path / run_files.RECIPE_FILE).is_file():
        return
    stored = recorded_recipe(path) or {}
    expected = recipe.to_dict()
    for section in (stored, expected):
        section.get("training", {}).pop("output_dir", None)  # the dir may have moved
    differences = [
        f"{key}: {old!r} -> {new!r}" for key, (old, new) in leaf_changes(stored, expected).items() if old != new
    ]
    if differences:
        shown = "; ".join(differences[:3]) + ("; ..." if len(differences) > 3 else "")
        raise GnivoError(
            f"{path} was trained with a different recipe ({shown}): use another --output-dir, "
            "or delete that run to retrain it"
        )
