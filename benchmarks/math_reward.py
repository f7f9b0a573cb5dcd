"""Agreement with labelled answer pairs against plain Math-Verify, then throughput and latency of the
`math` reward's checker on the 500 MATH-500 gold answers.

Agreement: for each labelled pair of tests/data/math_answer_pairs.jsonl (a gold answer as a dataset
stores it, a model's output, whether they agree, and the kind of case), gnivo's verdict (`judge`, in
process) and plain Math-Verify's (``verify(parse(gold), parse(pred))``, its defaults, its own time
limits) on the same pairs in the same run; both first go over all pairs once unmeasured (loading sympy),
then again from empty caches, measured. Per kind: how often
each agrees with the label, its false accepts (label not equal, verdict equal) and false rejects, and
the pairs only one of them gets right; then checks per second of each. It fails (exit 1) unless gnivo
agrees with the labels at least as often as Math-Verify on every kind and is no slower.

Three scenarios of 500 checks: every answer boxed in a completion and checked against itself (all must be
equal; nearly all are settled by the exact-string fast path), the same with the boxed answer written as
``\\displaystyle answer`` (same value, so every pair takes the symbolic path), then each answer against the
next problem's (a shifted copy: nearly all must be not equal; the few neighbours whose answers really are
equal are listed). Each runs through two long-lived rewards, as a training run holds one: one checking
in process (one core), one with a worker process per core, both warmed up first (start-up is timed on
its own). Latency is per check, measured where the check runs; throughput is checks per wall-clock
second, inter-process traffic included.

    python benchmarks/math_reward.py [--data ../shared/benchmarks/math500.jsonl] [--timeout 2]
        [--pairs tests/data/math_answer_pairs.jsonl] [--agreement-only]
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "benchmarks" / "math500.jsonl"
DEFAULT_PAIRS = REPO / "tests" / "data" / "math_answer_pairs.jsonl"


def load_pairs(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plain_math_verify(gold: str, pred: str) -> bool:
    """What a new user of Math-Verify writes: its defaults, its own time limits."""
    from math_verify import parse, verify

    return bool(verify(parse(gold), parse(pred)))


def agreement(pairs: list[dict], timeout: float) -> bool:
    """Print the agreement table; True when gnivo is at least as right as Math-Verify on every kind and no slower."""
    import logging

    from rewards.math.equivalence import _parse
    from rewards.math.reward import MathReward

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # its timeout warnings are counted, not printed
    golds = [pair["gold"] for pair in pairs]
    preds = [pair["pred"] for pair in pairs]
    labels = [bool(pair["label"]) for pair in pairs]

    # A first, unmeasured pass over every pair with both checkers loads each part of sympy either needs;
    # the measured pass then starts with empty caches (a fresh reward, no parsed answers kept).
    for first_pass in (True, False):
        _parse.cache_clear()
        with MathReward.from_config({"workers": 0, "timeout": timeout}, name="math") as reward:
            started = time.perf_counter()
            gnivo = [verdict.correct for verdict in reward.judge(preds, golds)]
            gnivo_seconds = time.perf_counter() - started
        started = time.perf_counter()
        plain = [plain_math_verify(gold, pred) for gold, pred in zip(golds, preds, strict=True)]
        plain_seconds = time.perf_counter() - started
        if first_pass:
            print(f"first pass (loads sympy, not counted): gnivo {gnivo_seconds:.2f} s, M-V {plain_seconds:.2f} s")

    # For reference only: the gold wrapped in $...$, as Math-Verify's documentation advises for LaTeX golds.
    wrapped = [plain_math_verify(f"${gold}$", pred) for gold, pred in zip(golds, preds, strict=True)]

    kinds = list(dict.fromkeys(pair["kind"] for pair in pairs))
    header = (
        f"{'kind':20} {'pairs':>5} {'gnivo':>6} {'M-V':>6}   {'gnivo FA':>8} {'gnivo FR':>8} {'M-V FA':>7}"
        f" {'M-V FR':>7}   {'only gnivo':>10} {'only M-V':>8}   {'M-V $gold$':>10}"
    )
    print(f"agreement with {len(pairs)} labelled pairs ({sum(labels)} equal, {len(pairs) - sum(labels)} not equal)")
    print("FA: false accept (label not equal, verdict equal); FR: false reject; only X: pairs only X gets right;")
    print("M-V $gold$: Math-Verify right with each gold written $gold$ (for reference, not timed, not compared)")
    print(header)
    ok = True
    totals = collections.Counter()
    for kind in [*kinds, "all"]:
        rows = [i for i, pair in enumerate(pairs) if kind in ("all", pair["kind"])]
        counts = collections.Counter()
        for i in rows:
            for name, verdict in (("gnivo", gnivo[i]), ("mv", plain[i])):
                counts[f"{name} right"] += verdict == labels[i]
                counts[f"{name} FA"] += verdict and not labels[i]
                counts[f"{name} FR"] += labels[i] and not verdict
            counts["only gnivo"] += gnivo[i] == labels[i] != plain[i]
            counts["only mv"] += plain[i] == labels[i] != gnivo[i]
            counts["wrapped right"] += wrapped[i] == labels[i]
        if kind != "all":
            totals.update(counts)
            ok &= counts["gnivo right"] >= counts["mv right"]
        print(
            f"{kind:20} {len(rows):5d} {counts['gnivo right']:6d} {counts['mv right']:6d}   {counts['gnivo FA']:8d}"
            f" {counts['gnivo FR']:8d} {counts['mv FA']:7d} {counts['mv FR']:7d}   {counts['only gnivo']:10d}"
            f" {counts['only mv']:8d}   {counts['wrapped right']:10d}"
        )
    gnivo_rate, plain_rate = len(pairs) / gnivo_seconds, len(pairs) / plain_seconds
    print(f"checks/s: gnivo {gnivo_rate:.0f} (in process, extraction included), Math-Verify {plain_rate:.0f}")
    wrong = [i for i in range(len(pairs)) if gnivo[i] != labels[i]]
    for i in wrong:
        print(f"  gnivo disagrees with the label: {pairs[i]['kind']}: gold {golds[i]!r}, pred {preds[i]!r}")
    ok &= gnivo_rate >= plain_rate
    print("gnivo at least as right as Math-Verify on every kind, and no slower: " + ("yes" if ok else "NO"))
    return ok


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
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS, help="labelled pairs: gold, pred, label, kind")
    parser.add_argument("--agreement-only", action="store_true", help="only the agreement table")
    args = parser.parse_args()

    agreed = agreement(load_pairs(args.pairs), args.timeout)
    if args.agreement_only:
        sys.exit(0 if agreed else 1)
    print()

    from rewards.math.pool import cpu_count
    from rewards.math.quick import decide
    from rewards.math.reward import MathReward

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
    if not agreed:
        sys.exit(1)


if __name__ == "__main__":
    main()
