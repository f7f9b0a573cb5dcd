"""The runs of benchmarks/credit.py: the pretrained policy, `gnivo train` per run, and exact scores per checkpoint.

Each run is `gnivo train` (the real trainers) in its own process with one thread; its checkpoints are
scored exactly (every completion of every key enumerated) and the scores cached in the run
(`credit_eval.json`), so a rerun of the grid trains and scores only what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gnivo_cli.data.synthetic_steps import WORDS, StepsTask

REPO = Path(__file__).resolve().parents[1]
EVAL_FILE = "credit_eval.json"


def relative(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def ensure_model(model_dir: Path, build: dict) -> dict:
    """Pretrain and save the policy once; later calls reuse the folder (its build settings are checked).

    `build`: the keyword arguments of `credit_model.build_pretrained` (seed, steps, say_share, ...).
    Returns the stamp: the settings, the final pretraining loss and the seconds it took.
    """
    stamp = model_dir / "credit_model.json"
    if stamp.is_file():
        found = json.loads(stamp.read_text())
        if {k: found.get(k) for k in build} != build:
            raise SystemExit(f"error: {model_dir} was built with {found}, not {build}; pass another --model-dir")
        return found
    from benchmarks.credit_model import build_pretrained

    began = time.perf_counter()
    losses = build_pretrained(model_dir, **build)
    found = build | {"final_loss": round(losses[-1], 4), "seconds": round(time.perf_counter() - began, 1)}
    stamp.write_text(json.dumps(found) + "\n")
    return found


def train_run(run, log: Path) -> tuple[float, float, str | None]:
    """`gnivo train` on the run's recipe in a child process (one thread); resumes an interrupted run.

    Returns the wall seconds, the CPU seconds of the child (user + system: what the run would take on an
    idle core, whatever the machine's load) and the error, if any.
    """
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
            child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = code = os.waitstatus_to_exitcode(status)
    seconds, cpu = time.perf_counter() - began, usage.ru_utime + usage.ru_stime
    if code != 0 or not (run.path / "summary.json").is_file():
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [f"exit {code}"]
        return seconds, cpu, tail[0][:200]
    return seconds, cpu, None


def train_all(
    todo: Sequence[tuple[str, object]],
    *,
    jobs: int,
    log_dir: Path,
    score: Callable[[Path], object],
) -> tuple[dict[str, float], list[str]]:
    """Train (label, planned run) pairs, `jobs` at a time, scoring each run as it ends.

    Returns (wall seconds, CPU seconds) per run and the failures, one line each.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    wall: dict[str, tuple[float, float]] = {}
    failures: list[str] = []
    scoring = threading.Lock()  # one model load at a time: concurrent loads can leave a tied head untied

    def one(item) -> None:
        label, run = item
        seconds, cpu, error = train_run(run, log_dir / f"{label.replace('/', '_')}-seed-{run.seed}.log")
        if not error:
            with scoring:
                score(run.path)  # beside the next training process
        wall[f"{label}/{run.seed}"] = (seconds, cpu)
        state = f"failed: {error}" if error else f"done in {seconds:.0f} s ({cpu:.0f} s of CPU)"
        print(f"{label} seed {run.seed}: {state}", file=sys.stderr, flush=True)
        if error:
            failures.append(f"{label} seed {run.seed}: {error}")

    print(f"training {len(todo)} runs, {jobs} at a time", file=sys.stderr, flush=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, todo))
    return wall, failures


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
    """pi_ref's own numbers, and the optimum's (pi* = pi_ref exp(R/alpha) / Z)."""
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
    if cache.get("alpha") != alpha or cache.get("keys") != list(keys):
        cache = {"alpha": alpha, "keys": list(keys), "points": {}}
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
