"""How far the normalized weights softmax(R/alpha) land from GN-IVO's optimum, measured exactly on a toy tree.

The toy (benchmarks/theory_toy.py, the one tests/unit/test_theory.py checks): depth-3, branching-2 tree,
8 leaf rewards, a fixed pi_old, a tabular policy. For each alpha and K the exact expected loss (every
multiset of K leaves, multinomial-weighted) is minimized from pi_old with L-BFGS in float64, and the
minimizer is compared with pi*(y_<t) ∝ pi_old(y_<t) exp(V(y_<t)) prefix by prefix.

    python benchmarks/theory_bias.py            # alpha 0.2, 0.5, 1.0; K 2, 4, 8, 16 (a few minutes)
    python benchmarks/theory_bias.py --k 2 4    # a subset

Prints markdown tables (pasted into docs/theory.md).
"""

from __future__ import annotations

import argparse
import time

import torch
from theory_toy import ExactGNIVO, example_problem, policy_gap  # benchmarks/theory_toy.py, next to this script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpha", type=float, nargs="+", default=[0.2, 0.5, 1.0])
    parser.add_argument("--k", type=int, nargs="+", default=[2, 4, 8, 16])
    args = parser.parse_args()
    torch.set_num_threads(1)
    tree, old, rewards = example_problem()
    started = time.perf_counter()

    for alpha in args.alpha:
        reference = ExactGNIVO(tree, old, rewards, group_size=2, alpha=alpha)
        optimal = reference.optimal_logits()
        start = policy_gap(tree, old, optimal, rewards)
        optimal_reward = float((tree.token_logps(optimal).sum(-1).exp() * rewards).sum())
        print(f"\n### alpha = {alpha}\n")
        print(
            f"pi_old itself: max |log-ratio error| per depth "
            f"{' / '.join(f'{e:.3f}' for e in start.max_log_ratio_error)}, "
            f"KL(pi_old || pi*) = {start.kl_learned_optimal:.4f}, "
            f"E[R] = {optimal_reward + start.reward_gap:.4f} under pi_old, {optimal_reward:.4f} under pi*.\n"
        )
        print(
            "| K | groups | normalized+all: max abs log-ratio error, depth 1 / 2 / 3 | KL(learned ‖ pi*) "
            "| E[R] learned - E[R] pi* | grad at pi* (max) | largest error of the exact cases "
            "(exp+all, exp+final, normalized+final) |"
        )
        print("|---|---|---|---|---|---|---|")
        for k in args.k:
            biased = ExactGNIVO(tree, old, rewards, group_size=k, alpha=alpha, prefix="all", weights="normalized")
            gap = policy_gap(tree, biased.minimize(old), optimal, rewards)
            _, grad = biased.value_and_grad(optimal)
            exact_cases = []
            for prefix, weights in (("all", "exp"), ("final", "exp"), ("final", "normalized")):
                case = ExactGNIVO(tree, old, rewards, group_size=k, alpha=alpha, prefix=prefix, weights=weights)
                exact_cases.append(max(policy_gap(tree, case.minimize(old), optimal, rewards).max_log_ratio_error))
            errors = " / ".join(f"{e:.4f}" for e in gap.max_log_ratio_error)
            print(
                f"| {k} | {biased.members.shape[0]:,} | {errors} | {gap.kl_learned_optimal:.2e} "
                f"| {gap.reward_gap:+.4f} | {grad.abs().max().item():.1e} | {max(exact_cases):.0e} |"
            )
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
