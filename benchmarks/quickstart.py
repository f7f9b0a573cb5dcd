"""Does the quickstart learn what its prompt asks for? The boxed-and-correct share per seed, and its speed.

Runs `gnivo train recipes/quickstart.yaml` once per seed (as a user would, one after another), then reads
each run's metrics.jsonl: the share of answers that were boxed and correct (`boxed_correct_share`) over the
first and the last quarter of the steps, the final reward, the median step time and the wall time. The
target: the share is at most 0.2 in the first quarter and at least 0.6 in the last, on every seed.
The machine's load (1-minute load average) before and after each run is printed beside it, and the CPU
time the run used (user + system, all threads): step times measured on a busy machine are slower than on a
quiet one, while the CPU time changes much less with the load.

Usage:
    GNIVO_CACHE=/tmp/gcache OMP_NUM_THREADS=2 python benchmarks/quickstart.py --seeds 0,1,2
    python benchmarks/quickstart.py --seeds 0 --set training.max_steps=2     # a smoke run of the script

Prints a markdown table for benchmarks/RESULTS.md, then what the model sees and writes: the first prompt
exactly as the model receives it (the run's prompts.txt) and, for each seed, completions of the first data
rows sampled as in training from the untrained and the trained model, each with its reward (`--samples 0`
skips them). Finished runs in --output-dir are reported again, not retrained (delete the folder, or pass
--fresh, to measure anew).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARE = "boxed_correct_share"
FIRST_AT_MOST, LAST_AT_LEAST = 0.2, 0.6
MEASURED_FILE = "benchmark-quickstart.json"  # wall time, CPU time and load of the run, for a later reprint


def quarter_mean(values: list[float], last: bool) -> float | None:
    """Mean over the first or last quarter (at least one value), the rule `gnivo train` uses for final_reward."""
    if not values:
        return None
    size = max(1, len(values) // 4)
    part = values[-size:] if last else values[:size]
    return sum(part) / len(part)


def read_run(run_dir: Path) -> dict:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    summary = json.loads((run_dir / "summary.json").read_text())
    shares = [row[SHARE] for row in rows if isinstance(row.get(SHARE), int | float)]
    step_times = [row["step_time"] for row in rows if isinstance(row.get("step_time"), int | float)]
    return {
        "steps": len(rows),
        "first": quarter_mean(shares, last=False),
        "last": quarter_mean(shares, last=True),
        "summary_last": summary.get("final_boxed_correct_share"),
        "final_reward": summary.get("final_reward"),
        "median_step": statistics.median(step_times) if step_times else None,
        "train_time": summary.get("total_time"),
    }


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "quickstart.yaml")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override key=value")
    parser.add_argument("--output-dir", type=Path, default=REPO / "runs" / "benchmark-quickstart")
    parser.add_argument("--fresh", action="store_true", help="delete the output dir first (no reuse of runs)")
    parser.add_argument("--samples", type=int, default=4, help="completions shown per data row and model (0: none)")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    if args.fresh and args.output_dir.exists():
        shutil.rmtree(args.output_dir)

    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines, results, spans = [], [], []
    for seed in seeds:
        run_dir = args.output_dir / f"seed-{seed}"
        sets = [*args.overrides, f"training.seed={seed}"]
        command = ["gnivo", "train", str(args.recipe), *(f"--set={item}" for item in sets), "-o", str(run_dir)]
        if not (run_dir / "summary.json").is_file():
            if run_dir.exists():
                shutil.rmtree(run_dir)  # an unfinished run: measure it again from the start
            print(f"$ {shlex.join(command)}", file=sys.stderr, flush=True)
            started_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            load_before, started, cpu_before = load_average(), time.perf_counter(), children_cpu()
            # The run's own report goes to stderr with its progress: stdout is this script's table.
            done = subprocess.run([sys.executable, "-m", "gnivo_cli", *command[1:]], check=False, stdout=sys.stderr)
            if done.returncode != 0:
                print(f"error: seed {seed}: gnivo train exited with {done.returncode}", file=sys.stderr)
                return 1
            measured = {
                "started": started_utc,
                "omp_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
                "ended": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "wall": time.perf_counter() - started,
                "cpu": children_cpu() - cpu_before,
                "load_before": load_before,
                "load_after": load_average(),
            }
            (run_dir / MEASURED_FILE).write_text(json.dumps(measured) + "\n")
        measured_path = run_dir / MEASURED_FILE
        measured = json.loads(measured_path.read_text()) if measured_path.is_file() else {}
        wall, cpu = measured.get("wall"), measured.get("cpu")
        load_before, load_after = measured.get("load_before", "-"), measured.get("load_after", "-")
        result = read_run(run_dir)
        spans.append(
            f"seed {seed} {measured.get('started', '?')} to {measured.get('ended', '?')} "
            f"(OMP_NUM_THREADS={measured.get('omp_threads', '?')})"
        )
        results.append(result)
        met = (
            result["first"] is not None
            and result["last"] is not None
            and result["first"] <= FIRST_AT_MOST
            and result["last"] >= LAST_AT_LEAST
        )
        lines.append(
            f"| {seed} | {result['steps']} | {fmt(result['first'])} | {fmt(result['last'])} | "
            f"{fmt(result['final_reward'], 3)} | {fmt(result['median_step'], 1)} | {fmt(result['train_time'], 0)} | "
            f"{fmt(wall, 0)} | {fmt(cpu, 0)} | {load_before} / {load_after} | {'yes' if met else 'no'} |"
        )

    cpu = platform.processor() or platform.machine()
    print(f"Quickstart, {args.recipe.relative_to(REPO) if args.recipe.is_relative_to(REPO) else args.recipe}")
    print(f"printed {started_at}; runs measured: {'; '.join(spans)}")
    print(f"{os.cpu_count()} CPU cores ({cpu})")
    if args.overrides:
        print(f"overrides: {' '.join(args.overrides)}")
    print()
    print(
        "| seed | steps | boxed+correct, first quarter | boxed+correct, last quarter | final reward | "
        "median step (s) | training (s) | command wall (s) | command CPU (s) | load before / after | target met |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))
    met = sum(line.endswith("| yes |") for line in lines)
    print()
    print(
        f"target (first quarter <= {FIRST_AT_MOST}, last quarter >= {LAST_AT_LEAST}): "
        f"met on {met} of {len(lines)} seeds"
    )
    medians = [r["median_step"] for r in results if r["median_step"] is not None]
    if medians:
        print(f"median step time over all runs: {statistics.median(medians):.1f} s")
    if args.samples > 0:
        show_what_the_model_sees_and_writes([args.output_dir / f"seed-{seed}" for seed in seeds], args.samples)
    return 0


def show_what_the_model_sees_and_writes(run_dirs: list[Path], samples: int, rows: int = 3) -> None:
    """The first prompt as received, then per run `samples` completions of the first `rows` data rows, sampled
    at the recipe's temperature and length from the untrained and the trained model, with their rewards."""
    import torch
    from transformers.utils import logging as transformers_logging

    from gnivo_cli.data.loading import load_rows
    from gnivo_cli.data.prompts import build_prompts
    from gnivo_cli.models.loading import load_causal_lm, load_tokenizer
    from gnivo_cli.recipe.loader import load_recipe
    from gnivo_cli.training.run_files import PROMPTS_FILE
    from rewards.registry import load_reward

    transformers_logging.disable_progress_bar()
    received = (run_dirs[0] / PROMPTS_FILE).read_text().split("\n=== ")[0]
    print(f"\nWhat the model receives (the first section of {PROMPTS_FILE}):\n\n```\n{received.rstrip()}\n```")
    for run_dir in run_dirs:
        recipe = load_recipe(run_dir / "recipe.yaml")
        data = load_rows(recipe.data)[:rows]
        prompts = [row["prompt"] for row in build_prompts(data, recipe.data)]
        graded = [column for spec in recipe.rewards for column in load_reward(spec.name, spec.params).graded_columns]
        tokenizer = load_tokenizer(recipe.model.name)
        named = " + ".join(f"{spec.weight:g} x `{spec.name}`" for spec in recipe.rewards)
        print(
            f"\n{run_dir.name}: {samples} completions per row at temperature {recipe.generation.temperature}, "
            f"the recipe's reward ({named}) after each\n"
        )
        print("| problem (gold) | untrained model | trained model |")
        print("|---|---|---|")
        written = {}
        for label, ref in (("untrained", recipe.model.name), ("trained", str(run_dir))):
            model = load_causal_lm(ref).eval()
            torch.manual_seed(recipe.training.seed)
            written[label] = [_sample(model, tokenizer, prompt, recipe, samples) for prompt in prompts]
        for row, prompt, before, after in zip(data, prompts, written["untrained"], written["trained"], strict=True):
            cells = [_judged(recipe.rewards, prompt, texts, row) for texts in (before, after)]
            gold = ", ".join(str(row.get(column)) for column in dict.fromkeys(graded)) or "-"
            print(f"| {row[recipe.data.prompt_column]} ({gold}) | {cells[0]} | {cells[1]} |")


def _sample(model, tokenizer, prompt, recipe, samples: int) -> list[str]:
    import torch

    ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(
            **ids,
            do_sample=True,
            temperature=recipe.generation.temperature,
            max_new_tokens=recipe.generation.max_new_tokens,
            num_return_sequences=samples,
            pad_token_id=tokenizer.pad_token_id,
        )
    return tokenizer.batch_decode(out[:, ids["input_ids"].shape[1] :], skip_special_tokens=True)


def _judged(specs, prompt, texts: list[str], row: dict) -> str:
    """Each text with the recipe's reward, the weighted sum training gives it (`gnivo values` scores the same way)."""
    from gnivo_cli.values.rewarding import RewardInput, score_rewards

    columns = {key: value for key, value in row.items() if key != "prompt"}
    scores, _, _ = score_rewards(specs, [RewardInput(prompt, text, columns) for text in texts])
    shown = [text.replace("\n", "\\n").replace("|", "/").replace("`", "'") for text in texts]  # one table cell
    cells = [f"`{text}` {fmt(value, 2)}" for text, value in zip(shown, scores, strict=True)]
    return "<br>".join(cells)


if __name__ == "__main__":
    sys.exit(main())
