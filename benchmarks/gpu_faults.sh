#!/usr/bin/env bash
# GPU check of issue 18's stops and bounds, one H100, under 6 minutes, on the random Qwen2.5-0.5B-shaped
# model of gpu_check.sh (bfloat16, LoRA r=16 on all linear layers):
#   A. the memory bound is a lower bound: its estimate for a real recipe against the peak GPU memory the run
#      reports (metrics.jsonl's peak_memory_mb, torch's max allocated);
#   B. a batch beyond the GPU is refused before training, naming the key and GPU 0;
#   C. SIGTERM while 1024-token completions generate: seconds from the signal to the exit (the step is
#      dropped, the one before saved), against how long a whole step takes;
#   D. Ctrl-C while the libraries load: exit 130 (or ended by SIGINT), nothing written.
# Preparation and running as gpu_check.sh says (.whl carried):
#   run(command="bash benchmarks/gpu_faults.sh", carry=[".whl"], timeout_s=480)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${GPU_CHECK_DIR:-/tmp/gpu-faults}
rm -rf "$WORK" && mkdir -p "$WORK"
export PYTHONUNBUFFERED=1
source benchmarks/gpu_env.sh

python3 - "$WORK" <<'EOF' 2>&1 | tee "$WORK/report.txt"
import json, os, platform, signal, subprocess, sys, time
from pathlib import Path

import torch
import yaml
work = Path(sys.argv[1])
print(f"machine: {torch.cuda.get_device_name(0)}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
      f"torch {torch.__version__}")
sys.path.insert(0, "benchmarks")
from random_qwen import save_random_qwen

model_dir = work / "qwen2-random"
save_random_qwen(model_dir)

def recipe(name, batch=16, k=4, tokens=256, steps=2, **extra):
    body = {
        "model": {"name": str(model_dir), "dtype": "bfloat16"},
        "lora": {"enabled": True, "r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"},
        "data": {"source": "synthetic:arithmetic", "synthetic": {"count": 512, "low": 1, "high": 99}},
        "rewards": [{"name": "math"}],
        "algorithm": {"name": "gnivo", "num_generations": k},
        "generation": {"max_new_tokens": tokens},
        "training": {"max_steps": steps, "per_device_batch_size": batch, "save_steps": 1000, "bf16": True,
                     "learning_rate": 1.0e-5, "output_dir": str(work / f"run-{name}")},
    }
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path, work / f"run-{name}"


def start(path, *extra):
    return subprocess.Popen([sys.executable, "-m", "gnivo_cli", "train", str(path), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def rows(run):
    path = run / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")] if path.is_file() else []


# A. the bound against what a run measures
path, run = recipe("bound")
process = start(path)
_, err = process.communicate()
assert process.returncode == 0, err[-3000:]
peak = max(row["peak_memory_mb"] for row in rows(run))
from gnivo_cli.models.memory import step_memory_bytes
from gnivo_cli.recipe.loader import load_recipe
from peft import LoraConfig, get_peft_model
loaded = load_recipe(path)
from transformers import AutoModelForCausalLM
lora_model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16),
                            LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))
estimate, what = step_memory_bytes(loaded, lora_model, longest_prompt=30)
print(f"A. bound: estimate {estimate / 2**20:,.0f} MiB ({what}) <= measured peak {peak:,.0f} MiB: "
      f"{estimate / 2**20 <= peak}")

# B. a batch beyond the GPU
path, run = recipe("beyond", batch=2**20, k=2**20, tokens=256, steps=1)
process = start(path)
_, err = process.communicate()
line = next((l for l in err.splitlines() if l.startswith("error:")), err[-500:])
print(f"B. exit {process.returncode}, wrote {run.exists()}: {line}")

# C. SIGTERM in a long generation
path, run = recipe("long", batch=16, k=4, tokens=1024, steps=100)
process = start(path)
while len(rows(run)) < 1 and process.poll() is None:
    time.sleep(0.05)
step_one = rows(run)[0]
time.sleep(1.0)  # into step 2's generation
signalled = time.perf_counter()
process.send_signal(signal.SIGTERM)
_, err = process.communicate()
seconds = time.perf_counter() - signalled
said = next((l for l in err.splitlines() if "stopped by" in l), err[-500:])
saved = sorted(p.name for p in run.glob("checkpoint-*"))
print(f"C. step 1 took {step_one.get('step_time', float('nan')):.1f} s; SIGTERM 1 s into step 2: exit "
      f"{process.returncode} after {seconds:.1f} s, checkpoints {saved}: {said}")

# D. Ctrl-C while the libraries load
path, run = recipe("startup")
process = start(path)
def mapped():
    try:
        return "libtorch" in Path(f"/proc/{process.pid}/maps").read_text()
    except OSError:
        return False
while not mapped() and process.poll() is None:
    time.sleep(0.01)
time.sleep(1.0)
os.killpg(process.pid, signal.SIGINT)
_, err = process.communicate()
said = next((l for l in err.splitlines() if "stopped by" in l or "interrupted" in l), err[-300:])
print(f"D. exit {process.returncode}, wrote {run.exists()}: {said}")
EOF
if [ -n "${OUT:-}" ]; then cp "$WORK/report.txt" "$OUT/gpu_faults.txt"; fi
