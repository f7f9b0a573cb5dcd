"""vLLM against transformers in gnivo, on this machine: `gnivo eval` samples/s and GN-IVO training step time.

1. `gnivo eval` on the same math500 problems, model (embedded SmolLM2-135M-Instruct), sampling settings and
   seed, once with `--backend hf` and once with `--backend vllm`; reads each run's results.json
   (its `timing`: samples/s over generation only; `wall s`, the whole run, model loading included).
2. `gnivo train` on the quickstart recipe (LoRA, K=4, 16 completions per step) with
   `generation.use_vllm` false and true (colocate); the median step time over the steps after the first.

Each run is its own `gnivo` process, one after the other, so the two backends never share the CPU.
Needs vLLM (on a CPU machine the README's vLLM environment, `.venv-vllm`):

    OMP_NUM_THREADS=1 python benchmarks/vllm_throughput.py [--data ../shared/benchmarks]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def gnivo(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "gnivo_cli", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"gnivo {' '.join(args[:1])} failed:\n{done.stderr[-4000:]}")


def eval_run(backend: str, args: argparse.Namespace, work: Path) -> dict:
    out_dir = work / f"eval-{backend}"
    gnivo(
        "eval", "--bench", "math500", "--data", args.data, "--limit", str(args.problems),
        "--samples", str(args.samples), "--pass-at", "1", "--max-new-tokens", str(args.max_new_tokens),
        "--temperature", "0.6", "--top-p", "0.95", "--seed", "0", "--model", "embedded",
        "--backend", backend, "--output-dir", str(out_dir),
    )  # fmt: skip
    return json.loads((out_dir / "results.json").read_text())


def train_run(use_vllm: bool, args: argparse.Namespace, work: Path) -> dict:
    raw = yaml.safe_load((ROOT / "recipes" / "quickstart.yaml").read_text())
    raw["generation"].update(use_vllm=use_vllm, max_new_tokens=args.train_tokens)
    output_dir = work / f"train-{'vllm' if use_vllm else 'hf'}"
    raw["training"].update(max_steps=args.steps + 1, save_steps=10_000, output_dir=str(output_dir))
    recipe = work / f"recipe-{output_dir.name}.yaml"
    recipe.write_text(yaml.safe_dump(raw, sort_keys=False))
    gnivo("train", str(recipe))
    rows = [json.loads(line) for line in (output_dir / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((output_dir / "summary.json").read_text())
    return {"steps": [r["step_time"] for r in rows], "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "benchmarks"))
    parser.add_argument("--problems", type=int, default=8)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--steps", type=int, default=4, help="timed training steps (one more is warm-up)")
    parser.add_argument("--train-tokens", type=int, default=32, help="generation.max_new_tokens when training")
    args = parser.parse_args()

    import torch
    import vllm

    load = os.getloadavg()
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load[0]:.2f} at start, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, torch {torch.__version__}, "
        f"vllm {vllm.__version__}"
    )
    with tempfile.TemporaryDirectory(prefix="gnivo-vllm-bench-") as tmp:
        work = Path(tmp)
        print(
            f"\n`gnivo eval`: embedded model, {args.problems} math500 problems x {args.samples} samples, "
            f"<= {args.max_new_tokens} new tokens, temperature 0.6, top-p 0.95, seed 0"
        )
        print("backend  samples  tokens   gen s  samples/s  tokens/s  wall s")
        evals = {}
        for backend in ("hf", "vllm"):
            r = eval_run(backend, args, work)
            t = evals[backend] = r["timing"]
            print(
                f"{backend:8s} {r['num_samples']:7d} {r['tokens_generated']:7d} {t['generation_seconds']:7.1f} "
                f"{t['samples_per_second']:10.3f} {r['tokens_generated'] / t['generation_seconds']:9.1f} "
                f"{t['seconds']:7.1f}"
            )
        ratio = evals["vllm"]["samples_per_second"] / evals["hf"]["samples_per_second"]
        print(f"vllm / hf samples/s (generation only): {ratio:.2f}x")

        print(
            f"\n`gnivo train` recipes/quickstart.yaml: LoRA r=16, K=4, 16 completions per step, "
            f"<= {args.train_tokens} new tokens, {args.steps} timed steps after 1 warm-up"
        )
        print(f"{'generation':22s} {'median step s':>13s}  steps (s)                         phase totals (s)")
        medians = {}
        for use_vllm in (False, True):
            r = train_run(use_vllm, args, work)
            name = "vllm (colocate)" if use_vllm else "transformers"
            medians[name] = statistics.median(r["steps"][1:])
            phases = ", ".join(f"{k} {v}" for k, v in r["summary"]["timings"].items())
            steps = " ".join(f"{s:.2f}" for s in r["steps"])
            print(f"{name:22s} {medians[name]:13.2f}  {steps:32s}  {phases}")
        print(f"step time vllm / transformers: {medians['vllm (colocate)'] / medians['transformers']:.2f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":  # vLLM starts worker processes
    main()
