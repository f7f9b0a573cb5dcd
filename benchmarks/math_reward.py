"""Throughput and latency of the `math` reward's checker on the 500 MATH-500 gold answers.

Three scenarios of 500 checks: every answer boxed in a completion and checked against itself (all must be
equal; nearly all are settled by the exact-string fast path), the same with the boxed answer written as
``\\displaystyle answer`` (same value, so every pair takes the symbolic path), then each answer against the
next problem's (a shifted copy: nearly all must be not equal; the few neighbours whose answers really are
equal are listed). Each runs through two long-lived rewards, as a training run holds one: one checking
in process (one core), one with a worker process per core, both warmed up first (start-up is timed on
its own). Latency is per check, measured where the check runs; throughput is checks per wall-clock
second, inter-process traffic included.

    python benchmarks/math_reward.py [--data ../shared/benchmarks/math500.jsonl] [--timeout 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "benchmarks" / "math500.jsonl"


def load_answers(path: Path) -> list[str]:
    return [json.loads(line)["answer"] for line in path.read_text().splitlines() if line.strip()]


def _restyled(answer: str) -> str:
    # \\displaystyle changes how LaTeX draws the answer, not its value, and defeats the string fast path.
    return f"\\displaystyle {answer}"


def measure(reward, answers: list[str], golds: list[str], restyled: bool) -> dict:
    boxed = [_restyled(answer) if restyled else answer for answer in answers]
    completions = [f"Putting it together, the answer is $\\boxed{{{answer}}}$." for answer in boxed]
    started = time.perf_counter()
    verdicts = reward.judge(completions, golds)
    wall = time.perf_counter() - started
    latencies = [v.seconds for v in verdicts]
    return {
        "equal": sum(v.correct for v in verdicts),
        "timeouts": sum(v.timed_out for v in verdicts),
        "rate": len(verdicts) / wall,
        "median_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * statistics.quantiles(latencies, n=100)[98],
        "worst_ms": 1000 * max(latencies),
        "equal_pairs": [(a, g) for a, g, v in zip(answers, golds, verdicts, strict=True) if v.correct],
    }


_SPIN = "import time; t = time.perf_counter(); sum(range(20_000_000)); print(time.perf_counter() - t)"


def parallel_capacity(processes: int) -> tuple[float, float]:
    """Seconds for a CPU-bound loop alone, and the mean when `processes` copies run at once.

    On a machine shared with other jobs, N cores do not mean N times the speed; this says how much
    parallel speed-up was actually available while the benchmark ran.
    """

    def spin(count: int) -> list[float]:
        command = [sys.executable, "-c", _SPIN]
        runs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(count)]
        return [float(run.communicate()[0]) for run in runs]

    alone = spin(1)[0]
    together = spin(processes)
    return alone, statistics.fmean(together)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="JSONL with an `answer` field")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per check")
    args = parser.parse_args()

    from rewards._math_pool import cpu_count
    from rewards._math_quick import decide
    from rewards.math import MathReward

    answers = load_answers(args.data)
    shifted = answers[1:] + answers[:1]
    cores = cpu_count()
    print(f"{len(answers)} answers from {args.data.name}; {cores} cores; timeout {args.timeout} s per check")
    alone, together = parallel_capacity(cores)
    print(
        f"parallel capacity now: a CPU-bound loop takes {alone:.2f} s alone, {together:.2f} s with {cores} copies "
        f"at once: {cores * alone / together:.1f}x of the ideal {cores}x"
    )
    # Two long-lived rewards, as in a training run: one checking in process, one with a worker per core.
    rewards = {}
    for label, workers in (("in process (1 core)", 0), (f"{cores} worker processes", -1)):
        reward = MathReward.from_config({"workers": workers, "timeout": args.timeout}, name="math")
        started = time.perf_counter()
        reward.warm_up()  # import sympy, start and warm up the workers
        print(f"start-up, {label}: {time.perf_counter() - started:.2f} s")
        rewards[label] = reward

    scenarios = (
        ("self", answers, False),
        ("self, written \\displaystyle answer", answers, True),
        ("shifted", shifted, False),
    )
    for scenario, golds, restyled in scenarios:
        preds = [_restyled(a) if restyled else a for a in answers]
        fast = sum(decide(p, g) is not None for p, g in zip(preds, golds, strict=True))
        print(f"\n{scenario}: {fast} of {len(answers)} pairs settled by the string/integer rules, the rest by sympy")
        print("  mode                      checks/s   median ms   p99 ms   worst ms   equal   timeouts")
        for label, reward in rewards.items():
            result = measure(reward, answers, golds, restyled)
            print(
                f"  {label:24} {result['rate']:9.0f} {result['median_ms']:11.2f} {result['p99_ms']:8.1f}"
                f" {result['worst_ms']:10.1f} {result['equal']:7d} {result['timeouts']:10d}"
            )
            if golds is answers and result["equal"] != len(answers):
                print("  FAILED: some answers are not equal to themselves", file=sys.stderr)
                sys.exit(1)
        if golds is shifted:
            pairs = ", ".join(f"{a!r}~{g!r}" for a, g in result["equal_pairs"])
            print(f"  equal neighbours (really equal answers): {pairs}")
    for reward in rewards.values():
        reward.close()


if __name__ == "__main__":
    main()
