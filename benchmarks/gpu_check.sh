#!/usr/bin/env bash
# GPU check, one H100, under 8 minutes: GN-IVO against trl's GRPO (step time and peak GPU memory) and
# `gnivo eval` with the HF backend, on a randomly initialised model of about 0.5B parameters built from
# the Qwen2.5-0.5B architecture (no model hub is reachable there): bfloat16, LoRA r=16 on all linear
# layers, gradient checkpointing, K=4, 16 completions per step, 256 new tokens.
#
# The GPU machine has torch, transformers, peft, accelerate, typer, rich, pyyaml, sympy and matplotlib
# (Python 3.12) but not trl, datasets or math-verify: those travel as wheels in .whl/ (ignored by git).
# Preparation, once, on this (CPU) machine, in the repository root:
#
#   for spec in trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 math-verify==0.9.0 \
#       latex2sympy2_extended==1.11.0 antlr4-python3-runtime==4.13.2; do
#     python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
#       --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "$spec"
#   done
#
# (about 2.2 MB; datasets 5.2 also needs pyarrow >= 24 and fsspec <= 2026.9.0 there: the script prints
# their versions first; if pyarrow is older, download pyarrow==26.0.1 the same way, about 45 MB.)
# Then run it on the GPU machine with .whl carried, e.g. through the device tool:
#   run(command="bash benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=560)
# It installs the wheels and gnivo itself into /tmp/site (no network), writes its runs under
# ${GPU_CHECK_DIR:-/tmp/gpu-check}, copies the printed report to $OUT/gpu_check.txt when $OUT is set, and
# prints everything RESULTS.md needs. GPU_CHECK_TINY=1 runs the same steps on a tiny model (any machine,
# CPU included: a dry run of the script itself).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${GPU_CHECK_DIR:-/tmp/gpu-check}
rm -rf "$WORK" && mkdir -p "$WORK"
REPORT="$WORK/report.txt"
export PYTHONUNBUFFERED=1

source benchmarks/gpu_env.sh  # what the GPU machine lacks, and gnivo itself

python3 - "$WORK" <<'EOF' 2>&1 | tee "$REPORT"
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

work = Path(sys.argv[1])
tiny = os.environ.get("GPU_CHECK_TINY") == "1"
versions = {}
for name in ("torch", "transformers", "peft", "accelerate", "trl", "datasets", "pyarrow", "fsspec", "math_verify"):
    module = __import__(name)
    versions[name] = getattr(module, "__version__", "?")
print("versions:", ", ".join(f"{k} {v}" for k, v in versions.items()))
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
print(f"machine: {gpu}, {os.cpu_count()} CPUs, python {platform.python_version()}, tiny={tiny}")

sys.path.insert(0, "benchmarks")
from random_qwen import save_random_qwen

model_dir = work / "qwen2-random"
params = save_random_qwen(model_dir, tiny=tiny)
print(f"model: Qwen2 architecture, random weights, {params / 1e9:.3f}B parameters, bfloat16, {model_dir}")

steps = 1 if tiny else 5
tokens = 16 if tiny else 256


def gnivo(*args):
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gnivo_cli", *args], capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-4000:])
        sys.exit(f"gnivo {args[0]} failed")
    return time.perf_counter() - started


def recipe(algorithm):
    bf16 = torch.cuda.is_available()  # transformers refuses bf16 training on a CPU (the tiny dry run)
    body = {
        "model": {"name": str(model_dir), "dtype": "bfloat16" if bf16 else "float32"},
        "lora": {"enabled": True, "r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"},
        "data": {"source": "synthetic:arithmetic", "synthetic": {"count": 512, "low": 1, "high": 99},
                 "prompt_template": "{prompt} Put the answer in \\boxed{}."},
        "rewards": [{"name": "math", "params": {"fallbacks": ["last_number"], "fallback_correct": 0.5}}],
        "algorithm": {"name": algorithm, "num_generations": 4, "beta": 0.04},  # as recipes/math.yaml
        "generation": {"max_new_tokens": tokens, "temperature": 1.0},
        "training": {"max_steps": steps + 1, "per_device_batch_size": 16, "learning_rate": 1.0e-6,
                     "save_steps": 10_000, "bf16": bf16, "gradient_checkpointing": True,
                     "output_dir": str(work / f"train-{algorithm}")},
    }
    if algorithm == "gnivo":
        body["algorithm"].update(alpha=0.2, prefix="all", unit="token")
    path = work / f"{algorithm}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


print(f"\ntraining: LoRA r=16 all-linear, bf16, gradient checkpointing, K=4, 16 completions/step, "
      f"<= {tokens} new tokens, {steps} timed steps after 1 warm-up, HF generation")
print(f"{'trainer':8s} {'median step s':>13s} {'peak GPU MiB':>12s} {'mean len':>8s}  phase totals (s)")
medians = {}
for algorithm in ("grpo", "gnivo"):
    gnivo("train", str(recipe(algorithm)))
    run = work / f"train-{algorithm}"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((run / "summary.json").read_text())
    timed = [r["step_time"] for r in rows[1:]] or [rows[0]["step_time"]]
    medians[algorithm] = statistics.median(timed)
    length = statistics.mean(r.get("completions/mean_length", float("nan")) for r in rows)
    phases = ", ".join(f"{k} {v}" for k, v in summary["timings"].items())
    print(f"{algorithm:8s} {medians[algorithm]:13.2f} {summary['peak_memory_mb']:12.0f} {length:8.1f}  {phases}")
print(f"step time GN-IVO / GRPO: {medians['gnivo'] / medians['grpo']:.3f}")

problems = work / "problems.jsonl"
problems.write_text("".join(
    json.dumps({"problem": f"What is {a} + {b}?", "answer": str(a + b), "unique_id": f"add-{a}-{b}"}) + "\n"
    for a, b in [(3, 4), (12, 30), (7, 8), (21, 21), (5, 9), (40, 2), (11, 13), (6, 6)]
))
seconds = gnivo("eval", "--bench", "math500", "--data", str(problems), "--model", str(work / "train-gnivo"),
                "--backend", "hf", "--samples", "4", "--pass-at", "1", "--pass-at", "4",
                "--max-new-tokens", str(tokens), "--output-dir", str(work / "eval"))
results = json.loads((work / "eval" / "results.json").read_text())
print(f"\n`gnivo eval --backend hf` on the trained adapter: {results['num_samples']} samples, "
      f"{results['tokens_generated']} tokens, {results['timing']['samples_per_second']} samples/s (generation), "
      f"{seconds:.1f} s wall; pass@1 {results['pass@1']:.3f} (random weights: expect about 0)")
EOF
if [ -n "${OUT:-}" ]; then cp "$REPORT" "$OUT/gpu_check.txt"; fi
