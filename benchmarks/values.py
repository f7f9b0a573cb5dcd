"""Is a trained policy a value model? Exact answers on `synthetic:steps`, for policies trained by each algorithm.

GN-IVO's claim is that α·log π_θ(y<t)/π_ref(y<t) is the value of the prefix y<t. On `synthetic:steps` every
completion of every key can be listed, so the exact soft value V*(y<t) = α·log E_π_ref[exp(R/α) | y<t] is known at
every prefix (benchmarks/values_exact.py), and each trained policy is read as a value model against it:

- rank correlation (Spearman) of its implicit prefix values with V*(y<t) − V*(x), over every distinct prefix of
  every key, and over the prefixes that end a step;
- first-error F1 as ProcessBench scores it (threshold on the step value, or on the step's change, chosen on the
  other half of the keys);
- best-of-N: the expected reward of the completion picked from N drawn from π_ref by its lowest step value (or
  final value), against a random pick and against the best reward of the N (oracle).

Rows: every run of a manifest (algorithm, seed, run dir, final model), the untrained policy π_ref (all values 0)
and the exact optimum π* = π_ref·exp(R/α)/Z of the recipe's α (the ceiling). Nothing is written into the runs.

Usage:
    python benchmarks/values.py --manifest /work/runs/credit/manifest.json
    python benchmarks/values.py --grid runs/values-dev/grid --write-manifest runs/values-dev/manifest.json

A manifest is JSON: a list of runs, or {"runs": [...]} (as benchmarks/credit.py writes it); each run names its
`method` (the grid's label, e.g. gnivo-all-step; else `algorithm`), `seed` and `run_dir` (relative paths are read
from the manifest's folder), and optionally `final_model` (default RUN/final), `finished`, `learning_rate` and
`recipe` (a path, default RUN/recipe.yaml).

Prints the tables for benchmarks/RESULTS.md and writes benchmarks/values.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # `benchmarks.*` when run as a script

from benchmarks.values_exact import build_tree, measure, prefix_values  # noqa: E402
from benchmarks.values_report import plot, print_report  # noqa: E402

REFERENCE_ROW, OPTIMUM_ROW = "π_ref (untrained)", "π* (optimum)"


@dataclass
class Run:
    algorithm: str
    seed: int
    run_dir: Path
    model_dir: Path
    recipe: dict = field(default_factory=dict)
    learning_rate: float | None = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--manifest", type=Path, help="JSON list of runs (see the module docstring)")
    source.add_argument("--grid", type=Path, help="a benchmarks/credit.py output folder: GRID/VARIANT/ALGO/seed-S")
    parser.add_argument("--write-manifest", type=Path, help="also write the runs found as a manifest")
    parser.add_argument("--alpha", type=float, help="V*'s temperature (default: the GN-IVO runs' algorithm.alpha)")
    parser.add_argument("--figure", type=Path, default=REPO / "benchmarks" / "values.png")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--baseline", default="grpo", help="the algorithm differences are taken against")
    args = parser.parse_args()

    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()
    try:
        runs = read_manifest(args.manifest) if args.manifest else scan_grid(args.grid)
        if args.write_manifest:
            write_manifest(runs, args.write_manifest)
        reference, steps, keys, alpha = shared_task(runs, args.alpha)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    import torch

    torch.set_num_threads(1)
    from benchmarks.credit_model import build_tokenizer

    tokenizer = build_tokenizer()
    ref_enum = enumerate_model(reference, steps, keys, tokenizer)
    tree = build_tree(ref_enum, tokenizer, alpha)
    rows = [
        {"algorithm": REFERENCE_ROW, "seed": None, **policy_numbers(ref_enum), **measure(tree.v_star * 0, tree)},
        {
            "algorithm": OPTIMUM_ROW,
            "seed": None,
            **optimum_numbers(tree),
            **measure(tree.optimum_prefix_values(), tree),
        },
    ]
    scatter = {}
    for run in runs:
        enum = enumerate_model(run.model_dir, steps, keys, tokenizer)
        values = prefix_values(enum.token_logp.numpy(), tree)
        rows.append({"algorithm": run.algorithm, "seed": run.seed, **policy_numbers(enum), **measure(values, tree)})
        if run.algorithm not in scatter:  # one seed per algorithm for the figure's scatter
            scatter[run.algorithm] = values[:, :, tree.step_ends]
        print(f"{run.algorithm} seed {run.seed}: spearman {_fmt(rows[-1]['spearman'])}", file=sys.stderr, flush=True)
    header = [
        f"- started {started_at}; {time.perf_counter() - started:.0f} s in all (one thread)",
        f"- machine: {platform.machine()} CPU, {os.cpu_count()} cores visible, Python {platform.python_version()}; "
        f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- runs: {args.manifest or args.grid} ({len(runs)} runs: "
        + ", ".join(f"{a} x{sum(r.algorithm == a for r in runs)}" for a in dict.fromkeys(r.algorithm for r in runs))
        + ")",
        f"- task: synthetic:steps, {steps} steps, keys {', '.join(keys)}; reference π_ref = {reference}; α = {alpha}",
        f"- learning rates: {_rates(runs)}",
        f"- V*: exact over the {tree.ids.shape[0]} well-formed completions per key, mass leaving the grammar counted "
        "as reward 0; prefixes: every distinct one of every key (the empty prompt left out)",
    ]
    print_report(rows, header, baseline=args.baseline)
    figure = plot(rows, scatter, tree, args.figure, baseline=args.baseline)
    print(f"\nFigure: {_relative(figure)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"header": header, "rows": rows}, indent=1) + "\n")
    return 0


def read_manifest(path: Path) -> list[Run]:
    """The finished runs a manifest lists (benchmarks/credit.py writes one); unfinished ones are skipped, said on
    stderr."""
    data = json.loads(path.read_text(encoding="utf-8"))
    entries = data.get("runs") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: expected a list of runs, or an object with `runs`")
    runs = []
    for index, entry in enumerate(entries):
        where = f"{path}: runs[{index}]"
        label = entry.get("method") or entry.get("variant") or entry.get("algorithm")
        run_dir = entry.get("run_dir") or entry.get("run")
        if not label or run_dir is None or entry.get("seed") is None:
            raise ValueError(f"{where}: needs `method` (or `algorithm`), `seed` and `run_dir`, got {sorted(entry)}")
        run_dir = _resolve(run_dir, path.parent)
        model_dir = _resolve(entry.get("model_dir") or entry.get("final_model") or run_dir / "final", path.parent)
        if entry.get("finished") is False or not (model_dir / "config.json").is_file():
            print(f"skipped: {label} seed {entry['seed']} has no final model yet ({model_dir})", file=sys.stderr)
            continue
        recipe = _recipe(entry.get("recipe"), run_dir, path.parent)
        runs.append(Run(str(label), int(entry["seed"]), run_dir, model_dir, recipe, entry.get("learning_rate")))
    if not runs:
        raise ValueError(f"{path}: none of its runs has finished")
    return runs


def scan_grid(grid: Path) -> list[Run]:
    """Every finished run under a credit.py grid folder: GRID/VARIANT/ALGORITHM/seed-S with final/."""
    runs = []
    for final in sorted(grid.glob("*/*/seed-*/final")):
        run_dir = final.parent
        recipe = _recipe(None, run_dir, grid)
        rate = (recipe.get("training") or {}).get("learning_rate")
        runs.append(Run(run_dir.parent.parent.name, int(run_dir.name.split("-")[1]), run_dir, final, recipe, rate))
    if not runs:
        raise ValueError(f"{grid}: no finished runs (GRID/VARIANT/ALGORITHM/seed-S/final)")
    return runs


def write_manifest(runs: list[Run], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = [
        {"method": r.algorithm, "seed": r.seed, "run_dir": str(r.run_dir.resolve()),
         "final_model": str(r.model_dir.resolve()), "finished": True, "learning_rate": r.learning_rate}
        for r in runs
    ]  # fmt: skip
    path.write_text(json.dumps({"runs": entries}, indent=1) + "\n")


def shared_task(runs: list[Run], alpha: float | None) -> tuple[Path, int, tuple[str, ...], float]:
    """(reference model, steps, keys, α) that every run shares; a mix is an error."""
    from gnivo_cli.data.synthetic_steps import WORDS, StepsTask

    found = set()
    alphas = set()
    for run in runs:
        data = run.recipe.get("data") or {}
        if data.get("source") != "synthetic:steps":
            raise ValueError(f"{run.run_dir}: not a synthetic:steps run (data.source {data.get('source')!r})")
        task = StepsTask(**(data.get("synthetic") or {}))
        reference = _resolve((run.recipe.get("model") or {}).get("name", ""), run.run_dir)
        found.add((reference, task.steps, WORDS[: task.keys]))
        if "alpha" in (run.recipe.get("algorithm") or {}):
            alphas.add(float(run.recipe["algorithm"]["alpha"]))
    if len(found) != 1:
        raise ValueError(f"the runs do not share one reference model and task: {sorted(map(str, found))}")
    if alpha is None and len(alphas) > 1:
        raise ValueError(f"the runs' recipes use several alphas ({sorted(alphas)}); pass --alpha")
    (reference, steps, keys), chosen = found.pop(), alpha or (alphas.pop() if alphas else 0.2)
    if not (reference / "config.json").is_file():
        raise ValueError(f"the runs' reference model {reference} is not found")
    return reference, steps, keys, chosen


def enumerate_model(model_dir: Path, steps: int, keys: tuple[str, ...], tokenizer):
    import torch
    from transformers import AutoModelForCausalLM

    from benchmarks.credit_exact import enumerate_policy

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    tied = model.get_output_embeddings().weight is model.get_input_embeddings().weight
    if model.config.tie_word_embeddings and not tied:
        raise RuntimeError(f"{model_dir}: the output head did not load tied to the embeddings")
    return enumerate_policy(model, tokenizer, steps, keys=keys)


def policy_numbers(enum) -> dict[str, float]:
    probs = enum.logp.exp()
    return {"expected_reward": float((probs * enum.rewards).sum(-1).mean()), "leak": float((1 - probs.sum(-1)).mean())}


def optimum_numbers(tree) -> dict[str, float]:
    import numpy as np

    logp = tree.ref_token_logp.sum(-1) + tree.rewards / tree.alpha - tree.v_root[:, None] / tree.alpha
    probs = np.exp(logp)
    return {"expected_reward": float((probs * tree.rewards).sum(-1).mean()), "leak": float((1 - probs.sum(-1)).mean())}


def _resolve(value, base: Path) -> Path:
    path = Path(value).expanduser()
    if path.is_absolute() or path.exists():
        return path
    for folder in (base, *base.parents):
        if (folder / path).exists():
            return folder / path
    return path


def _recipe(recipe, run_dir: Path, base: Path) -> dict:
    import yaml

    if isinstance(recipe, dict):
        return recipe
    path = _resolve(recipe, base) if recipe else run_dir / "recipe.yaml"
    if not path.is_file():
        raise ValueError(f"{run_dir}: no recipe ({path})")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _rates(runs: list[Run]) -> str:
    rates = {}
    for run in runs:
        rates.setdefault(run.algorithm, set()).add(run.learning_rate)
    return ", ".join(
        f"{a} {'/'.join(f'{r:g}' for r in sorted(v, key=float) if r is not None)}" for a, v in rates.items()
    )


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


if __name__ == "__main__":
    sys.exit(main())
