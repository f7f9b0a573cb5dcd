"""Step time of GN-IVO against trl's own GRPOTrainer, side by side in one process.

Both train the same model (the embedded SmolLM2-135M-Instruct by default) with the same K, batch,
generation length, seed and LoRA settings on the quickstart task. The learning rate is tiny so both
policies stay (numerically) at the initial model and generate the same completions: the step times then
differ only by the loss. Runs alternate (GRPO, GN-IVO, GRPO, GN-IVO, ...) so drifting machine load hits
both alike; the first step of every run is dropped as warm-up.

    python benchmarks/step_time.py            # prints a table and ends with `ratio=<GN-IVO/GRPO>`
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def recipe_for(algorithm: str, args: argparse.Namespace, output_dir: Path):
    from gnivo_cli.algorithms.table import ALGORITHMS, OWNED_KEYS
    from gnivo_cli.recipe.loader import recipe_from_dict

    raw = yaml.safe_load((ROOT / "recipes" / "quickstart.yaml").read_text())
    raw["model"] = {"name": args.model}
    owned = ALGORITHMS[algorithm].owns
    raw["algorithm"] = {k: v for k, v in raw["algorithm"].items() if k in owned or k not in OWNED_KEYS}
    raw["algorithm"].update(name=algorithm, num_generations=args.k)
    raw["generation"] = {"max_new_tokens": args.max_new_tokens, "temperature": 1.0}
    raw["training"].update(
        max_steps=args.steps + 1,
        per_device_batch_size=args.batch,
        learning_rate=1e-9,  # keep both policies at the initial model: same completions, same lengths
        save_steps=10_000,
        seed=args.seed,
        output_dir=str(output_dir),
    )
    return recipe_from_dict(raw, source="benchmarks/step_time.py")


def step_times(run_dir: Path) -> dict[str, list[float]]:
    from gnivo_cli.training.run_files import read_metrics

    rows = read_metrics(run_dir)[1:]  # the first step is warm-up
    return {
        "step_time": [r["step_time"] for r in rows],
        "tokens": [r["completions/mean_length"] for r in rows],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per run (one more is warm-up)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating GRPO/GN-IVO rounds")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from gnivo_cli.training.train import train

    times: dict[str, list[float]] = {"grpo": [], "gnivo": []}
    lengths: dict[str, list[float]] = {"grpo": [], "gnivo": []}
    phases: dict[str, dict[str, float]] = {"grpo": {}, "gnivo": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for round_index in range(args.rounds):
            for algorithm in ("grpo", "gnivo"):
                run_dir = Path(scratch) / f"{algorithm}-{round_index}"
                result = train(recipe_for(algorithm, args, run_dir))
                measured = step_times(run_dir)
                times[algorithm] += measured["step_time"]
                lengths[algorithm] += measured["tokens"]
                for phase, seconds in result.timings.items():
                    phases[algorithm][phase] = phases[algorithm].get(phase, 0.0) + seconds
                print(f"round {round_index} {algorithm}: steps {[round(t, 2) for t in measured['step_time']]}")

    median = {name: statistics.median(values) for name, values in times.items()}
    print()
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(
        f"setup: model={args.model} K={args.k} batch={args.batch} max_new_tokens={args.max_new_tokens} "
        f"LoRA, {args.rounds} rounds x {args.steps} timed steps per algorithm"
    )
    print(f"{'trainer':<22}{'median step (s)':>16}{'mean completion len':>22}   phase totals (s)")
    for name, label in (("grpo", "trl GRPOTrainer"), ("gnivo", "gnivo GNIVOTrainer")):
        phase_text = ", ".join(f"{k} {v:.1f}" for k, v in phases[name].items())
        print(f"{label:<22}{median[name]:>16.3f}{statistics.mean(lengths[name]):>22.1f}   {phase_text}")
    print(f"ratio={median['gnivo'] / median['grpo']:.3f}")


if __name__ == "__main__":
    main()
