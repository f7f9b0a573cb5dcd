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
    whole = []
    for _ in range(args.repeats):
        began = time.perf_counter()
        subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True)
        whole.append(time.perf_counter() - began)

    import torch

    torch.set_num_threads(args.threads)
    from gnivo_cli.values.compute import ValuesSettings, compute_values, encode_messages
    from gnivo_cli.values.scorer import ValueScorer
    from gnivo_cli.values.sources import prompt_items
    from gnivo_cli.values.target import resolve_target

    target = resolve_target(str(args.run))
    items = prompt_items([PROMPT], target.data, {"answer": "7"})
    began = time.perf_counter()
    scorer = ValueScorer.load(target)
    load = time.perf_counter() - began
    settings = ValuesSettings(samples=args.samples)
    warm, passes, tokens = [], [], 0
    for repeat in range(args.repeats):
        began = time.perf_counter()
        report = compute_values(target, items, ValuesSettings(samples=args.samples, seed=repeat), scorer=scorer)
        warm.append(time.perf_counter() - began)
        completions = report.prompts[0].completions
        tokens = sum(len(c.token_ids) for c in completions)
        prompt_ids = encode_messages(scorer.tokenizer, items[0].messages)
        began = time.perf_counter()
        scorer.log_probs([(prompt_ids, c.token_ids) for c in completions])
        passes.append(time.perf_counter() - began)
    load_after = os.getloadavg()

    print("## values_speed.py: gnivo values on the quickstart run\n")
    print(f"- started {started_at}; {platform.machine()} CPU, {os.cpu_count()} cores visible, torch threads "
          f"{args.threads}; Python {platform.python_version()}, torch {torch.__version__}")  # fmt: skip
    print(
        f"- load average before {' '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{' '.join(f'{x:.2f}' for x in load_after)} (the machine is shared: other jobs slow every number)"
    )
    print(f"- run: {_relative(args.run)} (reference: its base model, the LoRA adapter disabled); prompt {PROMPT!r}, "
          f"{args.samples} completions, max_new_tokens {settings.max_new_tokens or target.generation.max_new_tokens}, "
          f"{tokens} completion tokens in the last repeat; median of {args.repeats}\n")  # fmt: skip
    print("| what | median s | all repeats (s) | target |")
    print("|---|---|---|---|")
    rows = [
        ("the whole command, a fresh process (imports, model load, generation, both passes, rewards)", whole, "<= 10"),
        (
            f"{args.samples} completions with the models loaded: generation + both forward passes + rewards",
            warm,
            "<= 10",
        ),
        (f"the two forward passes alone (policy, reference) over the {args.samples} completions", passes, ""),
    ]
    for name, times, target_time in rows:
        print(f"| {name} | {statistics.median(times):.2f} | {', '.join(f'{t:.2f}' for t in times)} | {target_time} |")
    print(f"| loading the policy and its reference once (in process) | {load:.2f} | {load:.2f} | |")
    return 0


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


if __name__ == "__main__":
    sys.exit(main())
