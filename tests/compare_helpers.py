"""Fake training runs for the `gnivo compare` / `gnivo plot` tests: the files `gnivo train` writes, no model."""

from __future__ import annotations

import json
from pathlib import Path

from gnivo_cli.compare.grid import RunFailed
from gnivo_cli.compare.plan import PlannedRun

RECIPE_TEMPLATE = """\
model: {{name: embedded}}
data: {{source: "synthetic:arithmetic"}}
rewards: [{{name: math}}]
algorithm: {{name: gnivo, num_generations: 2, alpha: 0.3, prefix: all}}
generation: {{max_new_tokens: 8}}
training: {{max_steps: 8, per_device_batch_size: 4, seed: 0, output_dir: {output_dir}}}
"""


def write_recipe(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE_TEMPLATE.format(output_dir=tmp_path / "runs" / "toy"))
    return path


def write_run(
    path: Path,
    algorithm: str,
    seed: int | None,
    rewards: list[float],
    *,
    kl: list[float | None] | None = None,
    step_time: float = 1.0,
    samples_per_step: int = 4,
    peak_memory_mb: float | None = 100.0,
    finished: bool = True,
    recipe_yaml: str | None = None,
) -> Path:
    """A run dir as `gnivo train` leaves it: metrics.jsonl, recipe.yaml and (when finished) summary.json."""
    path.mkdir(parents=True, exist_ok=True)
    kl = kl or [0.01 * (i + 1) for i in range(len(rewards))]
    rows = [
        {
            "step": i + 1,
            "reward": r,
            "loss": 0.5,
            "kl": kl[i],
            "step_time": step_time * (1 + 0.1 * i),
            "frac_uniform_groups": 0.0,
            "num_samples": samples_per_step * (i + 1),
            "tokens_per_second": 100.0,
            "peak_memory_mb": peak_memory_mb,
        }
        for i, r in enumerate(rewards)
    ]
    (path / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    if recipe_yaml is None:
        recipe_yaml = f"algorithm: {{name: {algorithm}}}\ntraining: {{seed: {seed}}}\n"
    (path / "recipe.yaml").write_text(recipe_yaml)
    if finished:
        summary = {"algorithm": algorithm, "seed": seed, "steps": len(rows), "peak_memory_mb": peak_memory_mb}
        (path / "summary.json").write_text(json.dumps(summary))
    return path


def curve_for(algorithm: str, seed: int, steps: int) -> list[float]:
    """A made-up learning curve: gnivo learns fastest, seeds differ a little."""
    speed = {"gnivo": 0.12, "gnivo-onestep": 0.09, "grpo": 0.07, "rloo": 0.05}.get(algorithm, 0.04)
    return [min(1.0, 0.1 + speed * step + 0.01 * seed) for step in range(steps)]


class FakeLauncher:
    """Stands in for a training process: writes the files of a finished run, or fails on request."""

    def __init__(self, fail: set[tuple[str, int]] | None = None):
        self.fail = fail or set()
        self.calls: list[tuple[str, int, bool]] = []

    def __call__(self, run: PlannedRun, resume: bool) -> None:
        self.calls.append((run.algorithm, run.seed, resume))
        assert not (run.path / "summary.json").exists()
        if (run.algorithm, run.seed) in self.fail:
            run.path.mkdir(parents=True, exist_ok=True)
            (run.path / "recipe.yaml").write_text(run.recipe.to_yaml())
            raise RunFailed("synthetic failure: reward server unreachable")
        steps = run.recipe.training.max_steps
        write_run(
            run.path,
            run.algorithm,
            run.seed,
            curve_for(run.algorithm, run.seed, steps),
            samples_per_step=run.recipe.training.per_device_batch_size,
            recipe_yaml=run.recipe.to_yaml(),
        )
