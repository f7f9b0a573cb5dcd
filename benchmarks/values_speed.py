"""How long `gnivo values` takes: 8 completions of one prompt on the quickstart run (target: <= 10 s on 2 cores).

Three measurements, each the median of `--repeats`:
- the whole command as a user runs it (`gnivo values RUN --prompt ... -n 8`, a fresh process: Python start, imports,
  model load, generation, both forward passes, rewards, the terminal output);
- in one process with the models already loaded (`compute_values` with a loaded scorer): generating the 8
  completions and reading their values, what a second prompt costs;
- the two forward passes alone (policy, then the reference with the LoRA adapter disabled) over the 8 completions.

Usage:
    python benchmarks/values_speed.py [--run runs/quickstart] [--threads 2]

Prints a table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROMPT = "What is 3 + 4?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=REPO / "runs" / "quickstart")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the target is for 2 cores)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not (args.run / "final").is_dir():
        print(
            f"error: {args.run} has no final model: train it first (gnivo train recipes/quickstart.yaml)",
            file=sys.stderr,
        )
        return 1
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = os.getloadavg()

    command = [sys.executable, "-m", "gnivo_cli", "values", str(args.run), "--prompt", PROMPT,
               "--column", "answer=7", "-n", str(args.samples), "--brief"]  # fmt: skip
    whole, whole_cpu = [], []
    for _ in range(args.repeats):
        began, cpu = time.perf_counter(), _children_cpu()
        subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True)
        whole.append(time.perf_counter() - began)
        whole_cpu.append(_children_cpu() - cpu)

    import torch

    torch.set_num_threads(args.threads)
    from gnivo_cli.values.compute import ValuesSettings, compute_values, encode_messages
    from gnivo_cli.values.scorer import ValueScorer
    from gnivo_cli.values.sources import prompt_items
    from gnivo_cli.values.target import resolve_target

    target = resolve_target(str(args.run))
    items = prompt_items([PROMPT], target.data, {"answer": "7"})
    began, cpu = time.perf_counter(), time.process_time()
    scorer = ValueScorer.load(target)
    load, load_cpu = time.perf_counter() - began, time.process_time() - cpu
    warm, warm_cpu, passes, passes_cpu, tokens = [], [], [], [], 0
    for repeat in range(args.repeats):
        began, cpu = time.perf_counter(), time.process_time()
        report = compute_values(target, items, ValuesSettings(samples=args.samples, seed=repeat), scorer=scorer)
        warm.append(time.perf_counter() - began)
        warm_cpu.append(time.process_time() - cpu)
        completions = report.prompts[0].completions
        tokens = sum(len(c.token_ids) for c in completions)
        prompt_ids = encode_messages(scorer.tokenizer, items[0].messages)
        began, cpu = time.perf_counter(), time.process_time()
        scorer.log_probs([(prompt_ids, c.token_ids) for c in completions])
        passes.append(time.perf_counter() - began)
        passes_cpu.append(time.process_time() - cpu)
    load_after = os.getloadavg()

    print("## values_speed.py: gnivo values on the quickstart run\n")
    print(f"- started {started_at}; {platform.machine()} CPU, {os.cpu_count()} cores visible, torch threads "
          f"{args.threads}; Python {platform.python_version()}, torch {torch.__version__}")  # fmt: skip
    print(
        f"- load average before {' '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{' '.join(f'{x:.2f}' for x in load_after)} (the machine is shared: other jobs slow every wall time)"
    )
    print(
        f"- run: {_relative(args.run)} (reference: its base model, the LoRA adapter disabled); prompt {PROMPT!r}, "
        f"{args.samples} completions, max_new_tokens {target.generation.max_new_tokens}, {tokens} completion "
        f"tokens in the last repeat; median of {args.repeats}"
    )
    print(
        "- wall seconds count the other jobs' share of the CPU too; CPU seconds (all threads, of this process or "
        "of the command) much less: on an otherwise idle machine with one thread, wall time is about CPU time\n"
    )
    print("| what | median wall s | all repeats (wall s) | median CPU s | target |")
    print("|---|---|---|---|---|")
    rows = [
        (
            "the whole command, a fresh process (imports, model load, generation, both passes, rewards)",
            whole,
            whole_cpu,
            "<= 10",
        ),
        (
            f"{args.samples} completions with the models loaded: generation, both forward passes, rewards",
            warm,
            warm_cpu,
            "<= 10",
        ),
        (
            f"the two forward passes alone (policy, reference) over the {args.samples} completions",
            passes,
            passes_cpu,
            "",
        ),
        ("loading the policy and its reference once (in process)", [load], [load_cpu], ""),
    ]
    for name, times, cpu, target_time in rows:
        print(
            f"| {name} | {statistics.median(times):.2f} | {', '.join(f'{t:.2f}' for t in times)} | "
            f"{statistics.median(cpu):.2f} | {target_time} |"
        )
    return 0


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


if __name__ == "__main__":
    sys.exit(main())
