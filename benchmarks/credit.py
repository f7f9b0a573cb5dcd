"""An exact credit-assignment benchmark: GN-IVO's prefix settings against GRPO, RLOO and Dr. GRPO.

Task `synthetic:steps` with the `steps` reward (recipes/credit.yaml, docs/credit.md): 4 reasoning steps,
reward 0 unless the first step matches the prompt's key, then (1 + later steps repeating it) / 4. The
policy is a ~230k-parameter Llama pretrained in-process on uniformly random completions (so pi_old
has full support). Every run trains through `gnivo train` (the real trainers) in its own process, with
the same recipe, sample budget and seeds; each saved checkpoint is then scored exactly by enumerating
all 4**4 completions of every key: expected reward, KL to the optimum pi_ref * exp(R/alpha) / Z, and
the samples needed to reach GRPO's final expected reward.

Usage:
    python benchmarks/credit.py                         # the full grid (finished runs are reused)
    python benchmarks/credit.py --seeds 1 --variants grpo,gnivo-all-step --set training.max_steps=5
    python benchmarks/credit.py --build-model-only      # just the pretrained model the recipe names

Prints the table (markdown) for benchmarks/RESULTS.md and writes benchmarks/credit.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # `benchmarks.credit_*` when run as a script

from benchmarks.credit_report import aggregate, plot, print_report  # noqa: E402
from gnivo_cli.data.synthetic_steps import WORDS, StepsTask  # noqa: E402

#: label -> (algorithm, recipe overrides). GN-IVO with each prefix, unit and weights setting at least once.
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "gnivo-final": ("gnivo", ["algorithm.prefix=final"]),
    "gnivo-all-token": ("gnivo", ["algorithm.prefix=all", "algorithm.unit=token"]),
    "gnivo-all-step": ("gnivo", ["algorithm.prefix=all", "algorithm.unit=step"]),
    "gnivo-sample-step": ("gnivo", ["algorithm.prefix=sample", "algorithm.unit=step"]),
    "gnivo-sample-token": ("gnivo", ["algorithm.prefix=sample", "algorithm.unit=token"]),
    "gnivo-all-step-exp": ("gnivo", ["algorithm.prefix=all", "algorithm.unit=step", "algorithm.weights=exp"]),
    "gnivo-final-exp": ("gnivo", ["algorithm.prefix=final", "algorithm.weights=exp"]),
    "grpo": ("grpo", []),
    "rloo": ("rloo", []),
    "dr-grpo": ("dr-grpo", []),
}
DEFAULT_VARIANTS = ",".join(VARIANTS)
EVAL_FILE = "credit_eval.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "credit.yaml")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"comma-separated, from: {', '.join(VARIANTS)}")
    parser.add_argument("--seeds", default="5", help="a count (from the recipe's seed on) or a list: 0,1,2")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override key=value")
    parser.add_argument("--output-dir", type=Path, default=REPO / "runs" / "credit" / "grid")
    parser.add_argument("--model-dir", type=Path, default=REPO / "runs" / "credit" / "model")
    parser.add_argument("--model-seed", type=int, default=0)
    parser.add_argument("--pretrain-steps", type=int, default=600)
    parser.add_argument(
        "--first-right", type=float, default=0.25, help="pi_old's chance of starting with the key (0.25: uniform)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="training processes at once (one thread each)")
    parser.add_argument("--figure", type=Path, default=REPO / "benchmarks" / "credit.png")
    parser.add_argument("--build-model-only", action="store_true")
    args = parser.parse_args()

    from gnivo_cli.compare.plan import parse_seeds, plan_runs
    from gnivo_cli.errors import GnivoError
    from gnivo_cli.recipe.loader import load_recipe

    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()
    model_note = ensure_model(args.model_dir, args.model_seed, args.pretrain_steps, args.first_right)
    if args.build_model_only:
        print(model_note)
        return 0

    names = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        print(f"error: --variants: unknown {unknown} (known: {', '.join(VARIANTS)})", file=sys.stderr)
        return 1
    try:
        overrides = [*args.overrides, f"model.name={args.model_dir}"]
        bases = {name: load_recipe(args.recipe, [*overrides, *VARIANTS[name][1]]) for name in names}
        seeds = parse_seeds(args.seeds, bases[names[0]].training.seed)
        plans = {
            name: plan_runs(base, [VARIANTS[name][0]], seeds, args.output_dir / name) for name, base in bases.items()
        }
    except GnivoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    # Seed by seed, so an interrupted grid already holds every variant.
    todo = [(name, run) for seed_index in range(len(seeds)) for name in names for run in [plans[name][seed_index]]]
    todo = [(name, run) for name, run in todo if run.state != "finished"]
    log_dir = args.output_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    wall: dict[str, float] = {}
    failures: list[str] = []

    alpha = bases[names[0]].algorithm.alpha
    scoring = threading.Lock()  # one model load at a time: concurrent loads can leave a tied head untied

    def train_one(item):
        name, run = item
        seconds, error = train_run(run, log_dir / f"{name}-seed-{run.seed}.log")
        if not error:
            with scoring:
                evaluate_run(run.path, args.model_dir, alpha)  # beside the next training process
        wall[f"{name}/{run.seed}"] = seconds
        state = f"failed: {error}" if error else f"done in {seconds:.0f} s"
        print(f"{name} seed {run.seed}: {state}", file=sys.stderr, flush=True)
        if error:
            failures.append(f"{name} seed {run.seed}: {error}")

    # pi_ref's scores, once and before the workers start (transformers' lazy imports are not thread-safe).
    reference = reference_point(args.model_dir, alpha, bases[names[0]].data.synthetic)
    print(f"training {len(todo)} runs, {args.jobs} at a time", file=sys.stderr, flush=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(train_one, todo))
    train_wall = time.perf_counter() - started

    curves = {name: [evaluate_run(run.path, args.model_dir, alpha) for run in plans[name]] for name in names}
    curves = {name: [c for c in runs if c is not None] for name, runs in curves.items()}
    result = aggregate(curves, reference, threshold_from="grpo" if "grpo" in names else names[0])
    base = bases[names[0]]
    header = [
        f"- started {started_at}; {train_wall / 60:.1f} min wall for the {len(todo)} runs trained now and scored "
        f"({args.jobs} at a time, OMP_NUM_THREADS=1 each), {(time.perf_counter() - started) / 60:.1f} min in all",
        f"- machine: {platform.machine()} CPU, {os.cpu_count()} cores visible, Python {platform.python_version()}, "
        f"{platform.system()}; load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- recipe: {_relative(args.recipe)}" + (f" with {' '.join(args.overrides)}" if args.overrides else ""),
        f"- model: {model_note}",
        f"- budget: {base.training.max_steps} optimizer steps x {base.training.per_device_batch_size} completions "
        f"(K = {base.algorithm.num_generations}), num_iterations {base.algorithm.num_iterations} (a batch generated "
        f"every {base.algorithm.num_iterations} steps), lr {base.training.learning_rate} "
        f"({base.training.lr_scheduler}, {base.training.warmup_steps} warm-up steps), beta {base.algorithm.beta}, "
        f"alpha {alpha}; exact evaluation every {base.training.save_steps} steps; seeds {', '.join(map(str, seeds))}",
    ]
    if wall:
        header.append("- per run (wall, including start-up): " + ", ".join(f"{k} {v:.0f} s" for k, v in wall.items()))
    print_report(result, header, failures)
    figure = plot(result, args.figure)
    print(f"\nFigure: {_relative(figure)}")
    return 1 if failures else 0


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def ensure_model(model_dir: Path, seed: int, steps: int, first_right: float) -> str:
    """Pretrain and save the policy once; later calls reuse the folder (its build settings are checked)."""
    stamp = model_dir / "credit_model.json"
    wanted = {"seed": seed, "pretrain_steps": steps, "first_right": first_right}
    if stamp.is_file():
        found = json.loads(stamp.read_text())
        if {k: found.get(k) for k in wanted} != wanted:
            raise SystemExit(f"error: {model_dir} was built with {found}, not {wanted}; pass another --model-dir")
    else:
        from benchmarks.credit_model import build_pretrained

        began = time.perf_counter()
        losses = build_pretrained(model_dir, seed=seed, steps=steps, first_right=first_right)
        found = wanted | {"final_loss": round(losses[-1], 4), "seconds": round(time.perf_counter() - began, 1)}
        stamp.write_text(json.dumps(found) + "\n")
    return (
        f"{_relative(model_dir)} (pretrained {found['pretrain_steps']} steps, seed {found['seed']}, first step "
        f"= key with probability {found['first_right']} in the pretraining data, final loss {found.get('final_loss')})"
    )


def train_run(run, log: Path) -> tuple[float, str | None]:
    """`gnivo train` on the run's recipe in a child process (one thread); resumes an interrupted run."""
    if run.state == "restart":
        shutil.rmtree(run.path)  # interrupted before its first checkpoint: nothing to resume
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gnivo-credit-") as tmp:
        import yaml

        recipe_file = Path(tmp) / "recipe.yaml"
        recipe_file.write_text(yaml.safe_dump(run.raw, sort_keys=False))
        command = [sys.executable, "-m", "gnivo_cli", "train", str(recipe_file), "-o", str(run.path)]
        if run.state == "resume":
            command.append("--resume")
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
        with log.open("w") as out:
            code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    seconds = time.perf_counter() - began
    if code != 0 or not (run.path / "summary.json").is_file():
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [f"exit {code}"]
        return seconds, tail[0][:200]
    return seconds, None


def _checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    found = {}
    for path in run_dir.glob("checkpoint-*"):
        if path.name.split("-")[-1].isdigit() and (path / "config.json").is_file():
            found[int(path.name.split("-")[-1])] = path
    return sorted(found.items())


def _load_logp(model_path: Path, steps: int, keys: tuple[str, ...]):
    import torch
    from transformers import AutoModelForCausalLM

    from benchmarks.credit_exact import enumerate_policy
    from benchmarks.credit_model import build_tokenizer

    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    if (
        model.config.tie_word_embeddings
        and model.get_output_embeddings().weight is not model.get_input_embeddings().weight
    ):
        raise RuntimeError(f"{model_path}: the output head did not load tied to the embeddings")
    enum = enumerate_policy(model, build_tokenizer(), steps=steps, keys=keys)
    return enum.logp, enum.rewards


_REFERENCE: dict = {}


def _reference(model_dir: Path, steps: int, keys: tuple[str, ...]):
    key = (str(model_dir), steps, keys)
    if key not in _REFERENCE:
        _REFERENCE[key] = _load_logp(model_dir, steps, keys)
    return _REFERENCE[key]


def task_shape(synthetic: dict) -> tuple[int, tuple[str, ...]]:
    """(steps, keys) of a `synthetic:steps` data section's parameters."""
    task = StepsTask(**synthetic)
    return task.steps, WORDS[: task.keys]


def reference_point(model_dir: Path, alpha: float, synthetic: dict) -> dict:
    """pi_ref's own numbers, and the optimum's."""
    from benchmarks.credit_exact import exact_metrics, optimum_logp

    steps, keys = task_shape(synthetic)
    ref_logp, rewards = _reference(model_dir, steps, keys)
    optimum = optimum_logp(ref_logp, rewards, alpha)[:, :-1]
    return {
        "reference": exact_metrics(ref_logp, ref_logp, rewards, alpha, keys).to_dict(),
        "optimum": exact_metrics(optimum, ref_logp, rewards, alpha, keys).to_dict(),
    }


def evaluate_run(run_dir: Path, model_dir: Path, alpha: float) -> dict | None:
    """Exact metrics at step 0 (the pretrained model) and at every checkpoint; cached in the run dir."""
    from benchmarks.credit_exact import exact_metrics

    summary_file = run_dir / "summary.json"
    if not summary_file.is_file():
        return None
    import yaml

    summary = json.loads(summary_file.read_text())
    recipe = yaml.safe_load((run_dir / "recipe.yaml").read_text())
    steps, keys = task_shape(recipe["data"]["synthetic"])
    cache_file = run_dir / EVAL_FILE
    cache = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    if cache.get("alpha") != alpha:
        cache = {"alpha": alpha, "points": {}}
    ref_logp, rewards = _reference(model_dir, steps, keys)
    points = cache["points"]
    if "0" not in points:
        points["0"] = exact_metrics(ref_logp, ref_logp, rewards, alpha, keys).to_dict()
    for step, path in _checkpoints(run_dir):
        if str(step) not in points:
            logp, _ = _load_logp(path, steps, keys)
            points[str(step)] = exact_metrics(logp, ref_logp, rewards, alpha, keys).to_dict()
    cache_file.write_text(json.dumps(cache, indent=1) + "\n")
    per_step = summary["samples_generated"] / max(1, summary["steps"])
    return {
        "seed": summary["seed"],
        "samples_per_step": per_step,
        "points": sorted((int(step) * per_step, values) for step, values in points.items()),
    }


if __name__ == "__main__":
    sys.exit(main())
