"""An exact credit-assignment benchmark: GN-IVO's prefix settings against GRPO (clipped and not), RLOO, Dr. GRPO.

Task `synthetic:steps` with the `steps` reward (recipes/credit.yaml, docs/credit.md): four keys, each prompt
names one; a completion is 4 reasoning steps; reward 0 unless the first step is the prompt's key, then
(1 + later steps repeating it) / 4. The first step must be read from the prompt, which the pretrained
policy (a ~230k-parameter Llama, benchmarks/credit_model.py) does not do: it can copy a word from a prompt
that says `say W`, and draws the first step of a `key W` prompt uniformly. Two optimizer passes per
generated batch (`num_iterations: 2`), where the objectives differ (at one pass they only reweight one
sequence-level advantage).

Two phases, one command:
1. tuning: every method x each --rates learning rate x the --tuning-seeds; each method keeps the rate with
   the highest mean exact expected reward over training (averaged over the tuning seeds);
2. the grid: every method with its own rate x the reported --seeds (not the tuning seeds), the same
   recipe, steps, batch and K: the same samples.
Every checkpoint is scored exactly (every completion of every key). Finished runs are reused, so an
interrupted command continues. The manifest (manifest.json in --output-dir) lists every reported run
(method, algorithm, seed, run dir, its final/ model, tuned rate, recipe) for other scripts.

Usage:
    python benchmarks/credit.py                              # tuning, then the grid (about 1 h on 2 quiet cores)
    python benchmarks/credit.py --variants grpo,gnivo-final --rates 3e-4 --tuning-seeds 100 --seeds 0,1 \\
        --set training.max_steps=10                          # a smoke run
    python benchmarks/credit.py --build-model-only           # just the pretrained policy the recipe names

Prints the tables (markdown) for benchmarks/RESULTS.md and writes --figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # `benchmarks.credit_*` when run as a script

from benchmarks import credit_report as report  # noqa: E402
from benchmarks.credit_runs import (  # noqa: E402
    ensure_model,
    evaluate_run,
    reference_point,
    relative,
    task_shape,
    train_all,
)
from benchmarks.grid_args import exit_with  # noqa: E402

#: label -> (algorithm, recipe overrides). `final` ignores `unit` (one prefix point: the whole response).
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "gnivo-all-step": ("gnivo", ["algorithm.prefix=all", "algorithm.unit=step"]),
    "gnivo-all-token": ("gnivo", ["algorithm.prefix=all", "algorithm.unit=token"]),
    "gnivo-final": ("gnivo", ["algorithm.prefix=final"]),
    "gnivo-sample-step": ("gnivo", ["algorithm.prefix=sample", "algorithm.unit=step"]),
    "gnivo-all-step-exp": ("gnivo", ["algorithm.prefix=all", "algorithm.unit=step", "algorithm.weights=exp"]),
    "grpo": ("grpo", []),
    "grpo-noclip": ("grpo-noclip", []),
    "rloo": ("rloo", []),
    "dr-grpo": ("dr-grpo", []),
}
DEFAULT_VARIANTS = "gnivo-all-step,gnivo-all-token,gnivo-final,grpo,grpo-noclip,rloo"
RATES = "1e-4,3e-4,1e-3"
#: How the policy is pretrained (benchmarks/credit_model.build_pretrained); the folder records it.
MODEL_BUILD = {"seed": 0, "steps": 1500, "say_share": 0.5, "say_only_steps": 600, "batch": 64, "lr": 1e-3}
MANIFEST = "manifest.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "credit.yaml")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"comma-separated, from: {', '.join(VARIANTS)}")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="the reported seeds: a count or a list")
    parser.add_argument("--tuning-seeds", default="100,101", help="the seeds the learning rates are chosen on")
    parser.add_argument("--rates", default=RATES, help="the learning rates tried per method")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override key=value")
    parser.add_argument("--output-dir", type=Path, default=REPO / "runs" / "credit")
    parser.add_argument("--model-dir", type=Path, default=None, help="default: OUTPUT_DIR/model")
    parser.add_argument("--jobs", type=int, default=2, help="training processes at once (one thread each)")
    parser.add_argument("--figure", type=Path, default=REPO / "benchmarks" / "credit.png")
    parser.add_argument("--baseline", default="grpo", help="the method the differences are taken against")
    parser.add_argument("--build-model-only", action="store_true")
    parser.add_argument("--tuning-only", action="store_true", help="stop after choosing the learning rates")
    args = parser.parse_args()

    from gnivo_cli.compare.plan import parse_seeds, plan_runs
    from gnivo_cli.errors import GnivoError
    from gnivo_cli.recipe.loader import load_recipe

    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()
    model_dir = args.model_dir or args.output_dir / "model"
    built = ensure_model(model_dir, MODEL_BUILD)
    model_note = (
        f"{relative(model_dir)} (pretrained {built['steps']} steps, seed {built['seed']}, batch {built['batch']}, "
        f"lr {built['lr']}; the first {built['say_only_steps']} steps only `say W` prompts with first step W, "
        f"then a share {built['say_share']} of them, the rest `key W` with uniform steps; final loss "
        f"{built['final_loss']})"
    )
    if args.build_model_only:
        print(model_note)
        return 0

    names = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        print(f"error: --variants: unknown {unknown} (known: {', '.join(VARIANTS)})", file=sys.stderr)
        return 1
    try:
        rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
        overrides = [*args.overrides, f"model.name={model_dir}"]

        def recipe_of(name: str, rate: float):
            return load_recipe(args.recipe, [*overrides, *VARIANTS[name][1], f"training.learning_rate={rate}"])

        base = recipe_of(names[0], rates[0])
        seeds = parse_seeds(args.seeds, base.training.seed)
        tuning_seeds = parse_seeds(args.tuning_seeds, base=None, flag="--tuning-seeds")
        if set(seeds) & set(tuning_seeds):
            raise GnivoError(f"--seeds and --tuning-seeds share {sorted(set(seeds) & set(tuning_seeds))}")
        sweep = {
            (name, rate): plan_runs(
                recipe_of(name, rate),
                [VARIANTS[name][0]],
                tuning_seeds,
                args.output_dir / "tuning" / f"lr-{rate:g}" / name,
            )
            for name in names
            for rate in rates
        }
    except ValueError as error:  # a number that does not parse; a GnivoError goes to exit_with's boundary
        print(f"error: {error}", file=sys.stderr)
        return 1

    alpha = base.algorithm.alpha
    reference = reference_point(model_dir, alpha, base.data.synthetic)  # before any thread: lazy imports
    score = lambda path: evaluate_run(path, model_dir, alpha)  # noqa: E731

    # Phase 1: tuning.
    todo = [(f"tuning/lr-{rate:g}/{name}", run) for (name, rate), runs in sweep.items() for run in runs]
    tuning_wall, failures = train_all(
        [item for item in todo if item[1].state != "finished"],
        jobs=args.jobs,
        log_dir=args.output_dir / "logs",
        score=score,
    )
    tuned: dict[str, float] = {}
    sweep_rows = []
    for name in names:
        scores = {}
        for rate in rates:
            runs = report.seed_runs([c for c in (score(run.path) for run in sweep[name, rate]) if c is not None])
            scores[rate] = (sum(r.auc() for r in runs) / len(runs), runs) if runs else (float("-inf"), [])
        tuned[name] = max(rates, key=lambda rate: scores[rate][0])
        sweep_rows += [(name, rate, *scores[rate], rate == tuned[name]) for rate in rates]
    if args.tuning_only:
        print_times(tuning_wall)
        report.print_tuning(sweep_rows)
        return 1 if failures else 0

    # Phase 2: the reported grid, each method with its own rate.
    plans = {
        name: plan_runs(recipe_of(name, tuned[name]), [VARIANTS[name][0]], seeds, args.output_dir / "grid" / name)
        for name in names
    }
    todo = [(name, plans[name][i]) for i in range(len(seeds)) for name in names]  # seed by seed
    grid_wall, grid_failures = train_all(
        [item for item in todo if item[1].state != "finished"],
        jobs=args.jobs,
        log_dir=args.output_dir / "logs",
        score=score,
    )
    failures += grid_failures
    thresholds = report.thresholds_of(reference)
    variants = []
    for name in names:
        runs = report.seed_runs([c for c in (score(run.path) for run in plans[name]) if c is not None])
        if runs:
            variants.append(report.Variant(name, tuned[name], runs, [value for _, value in thresholds]))
    write_manifest(args.output_dir / MANIFEST, plans, tuned, model_dir, reference, base)

    print("## credit.py: exact credit assignment on synthetic:steps, every key\n")
    print(
        f"- started {started_at}; {(time.perf_counter() - started) / 60:.1f} min wall in all, "
        f"{len(tuning_wall) + len(grid_wall)} runs trained now ({args.jobs} at a time, OMP_NUM_THREADS=1 each)"
    )
    print(
        f"- machine: {platform.machine()} CPU, {os.cpu_count()} cores visible, Python {platform.python_version()}, "
        f"{platform.system()}; load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print_times({**tuning_wall, **grid_wall})
    print(f"- recipe: {relative(args.recipe)}" + (f" with {' '.join(args.overrides)}" if args.overrides else ""))
    print(f"- model (pi_ref): {model_note}")
    algo, train = base.algorithm, base.training
    print(
        f"- budget per run: {train.max_steps} optimizer steps x {train.per_device_batch_size} completions "
        f"(K = {algo.num_generations}), num_iterations {algo.num_iterations} (a batch generated every "
        f"{algo.num_iterations} steps): {train.max_steps // algo.num_iterations * train.per_device_batch_size} "
        f"samples; {train.lr_scheduler}, {train.warmup_steps} warm-up steps, beta {algo.beta}, alpha {alpha}; exact "
        f"evaluation every {train.save_steps} steps"
    )
    print(
        f"- learning rates tried: {', '.join(f'{r:g}' for r in rates)} on tuning seeds "
        f"{', '.join(map(str, tuning_seeds))}; reported seeds {', '.join(map(str, seeds))}"
    )
    ref, opt = reference["reference"], reference["optimum"]
    keys = ", ".join(task_shape(base.data.synthetic)[1])
    print(
        f"- pi_ref: E[R] = {ref['expected_reward']:.4f}, P(first step right) = {ref['first_step_right']:.4f}, "
        f"per key ({keys}) {_listed(ref['first_step_right_by_key'])}, leak {ref['leak']:.4f}"
    )
    print(
        f"- pi* = pi_ref exp(R/alpha)/Z: E[R] = {opt['expected_reward']:.4f}, P(first step right) = "
        f"{opt['first_step_right']:.4f}, per key {_listed(opt['first_step_right_by_key'])}; "
        f"KL(pi_ref ‖ pi*) = {ref['kl_to_optimum']:.4f}"
    )
    print()
    report.print_tuning(sweep_rows)
    print("\n### The grid (reported seeds, each method at its chosen rate)\n")
    report.print_main_table(variants, thresholds)
    print(
        "\n- mean ± std over seeds; samples to a threshold: per seed, the first crossing of that seed's exact "
        "curve (linear between evaluations), mean ± std over the seeds that reach it (how many, when not all); "
        f"thresholds fixed by the task: {'; '.join(f'{label} ({value:.4f})' for label, value in thresholds)}"
    )
    print(f"\n### Differences against {args.baseline} (paired by seed: mean [95 % t interval] verdict)\n")
    report.print_differences(variants, args.baseline)
    gnivos = [n for n in names if n.startswith("gnivo")]
    if "grpo-noclip" in names and gnivos and args.baseline != "grpo-noclip":
        print("\n### GN-IVO against GRPO without clipping: both unclipped (paired by seed)\n")
        report.print_differences(variants, "grpo-noclip", gnivos)
    steps_first = [n for n in ("gnivo-all-step", "gnivo-all-token") if n in names]
    if "gnivo-final" in names and steps_first:
        print("\n### Step-level prefixes against sequence-level matching (paired by seed)\n")
        report.print_differences(variants, "gnivo-final", steps_first)
    print("\n### Mean exact expected reward by samples (mean over seeds)\n")
    report.print_curve_table(variants)
    for failure in failures:
        print(f"\nfailed: {failure}")
    figure = report.plot(variants, reference, thresholds, args.figure)
    print(f"\nFigure: {relative(figure)}; manifest: {relative(args.output_dir / MANIFEST)}")
    return 1 if failures else 0


def print_times(times: dict[str, tuple[float, float]]) -> None:
    """Wall and CPU seconds of the runs trained now: the CPU time is what an idle core needs."""
    if not times:
        return
    cpu, walls = sorted(c for _, c in times.values()), sorted(w for w, _ in times.values())
    print(
        f"- per run trained now: wall {walls[0]:.0f}-{walls[-1]:.0f} s on this machine; CPU time (user + "
        f"system, what an idle core needs) median {cpu[len(cpu) // 2]:.0f} s, {cpu[0]:.0f}-{cpu[-1]:.0f} s"
    )


def _listed(values: list[float]) -> str:
    return " / ".join(f"{v:.4f}" for v in values)


def write_manifest(path: Path, plans: dict, tuned: dict, model_dir: Path, reference: dict, base) -> None:
    """The reported runs, for scripts that read the trained policies (e.g. as value models)."""
    runs = [
        {
            "method": name,
            "algorithm": run.algorithm,
            "seed": run.seed,
            "run_dir": str(run.path.resolve()),
            "final_model": str((run.path / "final").resolve()),
            "finished": (run.path / "summary.json").is_file(),
            "learning_rate": tuned[name],
            "recipe": str((run.path / "recipe.yaml").resolve()),
        }
        for name, planned in plans.items()
        for run in planned
    ]
    manifest = {
        "reference_model": str(Path(model_dir).resolve()),
        "alpha": base.algorithm.alpha,
        "num_iterations": base.algorithm.num_iterations,
        "task": dict(base.data.synthetic),
        "pi_ref": reference["reference"],
        "pi_star": reference["optimum"],
        "learning_rates": tuned,
        "runs": runs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    exit_with(main)
