"""Training runs as `gnivo plot` and `gnivo compare` read them: a `gnivo train` output dir (see
`gnivo_cli.training.run_files`), with the algorithm and seed that produced it. Reads files only (no torch).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gnivo_cli.errors import GnivoError
from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.training.run_files import METRICS_FILE, RECIPE_FILE, SUMMARY_FILE, read_metrics, read_recipe


@dataclass
class Run:
    """One training output dir: its per-step metrics and, when finished, its summary."""

    path: Path
    algorithm: str
    seed: int | None
    rows: list[dict[str, Any]]
    summary: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.summary is not None

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of one metric, skipping rows where it is missing or not a finite number."""
        steps, values = [], []
        for index, row in enumerate(self.rows):
            value = row.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                steps.append(row.get("step", index + 1))
                values.append(float(value))
        return np.asarray(steps, dtype=float), np.asarray(values, dtype=float)


def load_run(path: Path) -> Run:
    """Read one run dir. The algorithm and seed come from summary.json, else from recipe.yaml."""
    if not (path / METRICS_FILE).is_file():
        raise GnivoError(f"{path}: no {METRICS_FILE} (not a gnivo training output dir)")
    rows = read_metrics(path)  # a run still training may have half a last line: that row is not there yet
    summary = read_json_object(path / SUMMARY_FILE)
    recipe = read_recipe(path) or {}
    algorithm = (summary or {}).get("algorithm") or ((recipe.get("algorithm") or {}).get("name"))
    if not algorithm:
        raise GnivoError(f"{path}: cannot tell the algorithm (no {SUMMARY_FILE} or {RECIPE_FILE} naming it)")
    seed = (summary or {}).get("seed", ((recipe.get("training") or {}).get("seed")))
    return Run(path=path, algorithm=str(algorithm), seed=seed, rows=rows, summary=summary)


def find_runs(paths: Iterable[Path]) -> list[Run]:
    """Runs under the given paths: each is a run dir, or a dir searched for run dirs (e.g. a compare dir)."""
    runs: list[Run] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise GnivoError(f"{path}: no such file or directory")
        if (path / METRICS_FILE).is_file():
            runs.append(load_run(path))
            continue
        found = sorted(metrics.parent for metrics in path.rglob(METRICS_FILE))
        if not found:
            raise GnivoError(f"{path}: no training runs found (no {METRICS_FILE} in it or below it)")
        runs.extend(load_run(run_dir) for run_dir in found)
    return runs


#: Recipe keys that never change a learning curve: runs differing only there are seeds of one setting.
_NOT_SETTINGS = ("training.seed", "training.output_dir", "training.save_steps", "training.log_completions")
_NOT_SETTINGS_PREFIXES = ("training.report_to", "training.project", "training.run_name", "training.eval")


def label_settings(runs: list[Run]) -> list[Run]:
    """Runs of one algorithm trained with different recipes, labelled by what differs, so they are not
    averaged as seeds of one curve: `gnivo` runs at num_iterations 1 and 2 become "gnivo num_iterations=1"
    and "gnivo num_iterations=2". Runs whose recipes differ only in seed (and output paths) keep their name."""
    import dataclasses

    from gnivo_cli.differences import leaf_changes

    recipes = {run.path: read_recipe(run.path) or {} for run in runs}
    labelled = []
    for run in runs:
        same = [other for other in runs if other.algorithm == run.algorithm]
        keys: dict[str, None] = {}
        for other in same:
            for key in leaf_changes(recipes[same[0].path], recipes[other.path]):
                if key not in _NOT_SETTINGS and not key.startswith(_NOT_SETTINGS_PREFIXES):
                    keys[key] = None
        setting = ", ".join(f"{key.rsplit('.', 1)[-1]}={_value(recipes[run.path], key)}" for key in sorted(keys))
        labelled.append(dataclasses.replace(run, algorithm=f"{run.algorithm} {setting}") if setting else run)
    return labelled


def _value(recipe: dict[str, Any], key: str) -> Any:
    node: Any = recipe
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node
