"""Exact value-model measurements on `synthetic:steps`, where every completion of every key is listed.

For the KL-regularized optimum of temperature α around π_ref, every prefix p of a prompt x has the exact soft value

    V*(p) = α · log( Σ_{y ⊒ p} π_ref(y | p) · exp(R(y)/α)  +  leak(p) )

where the sum runs over the well-formed completions extending p and leak(p) is the mass π_ref sends out of the
grammar after p, counted as one outcome with reward 0 (as `credit_exact` counts it). V* = R at a completion's
end, and α·log π*(p)/π_ref(p) = V*(p) − V*(x) exactly. A policy π_θ's implicit value of p is α·log π_θ(p)/π_ref(p)
(`gnivo_cli.values.maths`); this module compares the two:

- `spearman`: rank correlation over every distinct prefix of every key (and over the prefixes that end a step);
- `first_error_f1`: ProcessBench's metric. A completion's label is the first step after which the best reward
  still reachable falls (−1: none does); the prediction is the first step whose value (or change) falls below a
  threshold chosen on the other half of the keys; F1 is the harmonic mean of the accuracy on erroneous
  completions (exact step) and on correct ones (−1), over all completions;
- `best_of_n`: the expected reward of the completion with the highest lowest-step value (or final value) among
  N drawn from π_ref (well-formed, renormalized), exact by order statistics, against a random pick.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BEST_OF = (4, 16, 64)


@dataclass
class Tree:
    """Every well-formed completion of every key, π_ref's token log-probs on them, and V* at every prefix."""

    keys: tuple[str, ...]
    alpha: float
    ids: np.ndarray  # [C, L] token ids (every completion has the same length)
    step_ends: list[int]  # the tokens that end each step (the same for every completion)
    rewards: np.ndarray  # [K, C]
    labels: np.ndarray  # [K, C] first step that loses reward, −1 for none
    ref_token_logp: np.ndarray  # [K, C, L]
    v_star: np.ndarray = field(init=False)  # [K, C, L]: V* of the prefix through token j
    v_root: np.ndarray = field(init=False)  # [K]: V*(x)
    first: np.ndarray = field(init=False)  # [C, L] bool: the first completion holding each distinct prefix

    def __post_init__(self) -> None:
        keys, count, length = self.ref_token_logp.shape
        ref_total = self.ref_token_logp.sum(-1)  # [K, C]
        ref_prefix = np.cumsum(self.ref_token_logp, -1)  # [K, C, L]
        tilt = np.exp(self.rewards / self.alpha)
        self.v_star = np.zeros((keys, count, length))
        self.first = np.zeros((count, length), dtype=bool)
        for j in range(length):
            _, first, group = np.unique(self.ids[:, : j + 1], axis=0, return_index=True, return_inverse=True)
            group = group.reshape(-1)
            self.first[first, j] = True
            conditional = np.exp(ref_total - ref_prefix[:, :, j])  # π_ref(y | p) for each y, its prefix p
            for k in range(keys):
                tilted = np.bincount(group, weights=conditional[k] * tilt[k])
                mass = np.bincount(group, weights=conditional[k])
                self.v_star[k, :, j] = (self.alpha * np.log(tilted + np.clip(1 - mass, 0, None)))[group]
        root_mass = np.exp(ref_total).sum(-1)
        self.v_root = self.alpha * np.log((np.exp(ref_total) * tilt).sum(-1) + np.clip(1 - root_mass, 0, None))

    def optimum_prefix_values(self) -> np.ndarray:
        """α·log π*(p)/π_ref(p) = V*(p) − V*(x): the implicit values of the exact optimum."""
        return self.v_star - self.v_root[:, None, None]


def build_tree(ref_enum, tokenizer, alpha: float) -> Tree:
    """The tree from `credit_exact.enumerate_policy(reference, ...)`."""
    from benchmarks.credit_model import completion_ids
    from gnivo_cli.algorithms.gnivo.step_boundaries import step_ends
    from gnivo_cli.data.synthetic_steps import SEPARATOR, all_completions

    steps = _steps(ref_enum)
    words = all_completions(steps)
    ids = np.asarray([completion_ids(tokenizer, w) for w in words])
    texts = [tokenizer.decode([t]) for t in ids[0]]
    ends = step_ends(texts, SEPARATOR)
    for row in ids[:: max(1, len(ids) // 16)]:  # the grammar has one shape: every completion splits alike
        assert step_ends([tokenizer.decode([t]) for t in row], SEPARATOR) == ends
    rewards = ref_enum.rewards.numpy()
    return Tree(
        keys=tuple(ref_enum.keys),
        alpha=alpha,
        ids=ids,
        step_ends=ends,
        rewards=rewards,
        labels=first_error_labels(rewards, steps),
        ref_token_logp=ref_enum.token_logp.numpy(),
    )


def _steps(enum) -> int:
    count = enum.logp.shape[1]
    return round(np.log(count) / np.log(4))


def first_error_labels(rewards: np.ndarray, steps: int) -> np.ndarray:
    """[K, C]: the first step (0-based) after which the best reward reachable falls; −1 where none does.

    Completions are listed first word first (`all_completions`), so those sharing their first s words are
    contiguous blocks of 4 ** (steps − s).
    """
    keys, count = rewards.shape
    labels = np.full((keys, count), -1)
    best_before = rewards.max(-1, keepdims=True).repeat(count, -1)  # s = 0: anything is reachable
    for s in range(1, steps + 1):
        block = 4 ** (steps - s)
        best = rewards.reshape(keys, count // block, block).max(-1).repeat(block, -1)
        labels = np.where((labels == -1) & (best < best_before), s - 1, labels)
        best_before = best
    return labels


def prefix_values(policy_token_logp: np.ndarray, tree: Tree) -> np.ndarray:
    """[K, C, L]: α·log π_θ(p)/π_ref(p) for the prefix through each token."""
    return tree.alpha * np.cumsum(policy_token_logp - tree.ref_token_logp, -1)


def rank(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ordered = values[order]
    start = 0
    while start < len(values):
        end = start
        while end < len(values) and ordered[end] == ordered[start]:
            end += 1
        ranks[order[start:end]] = (start + end + 1) / 2
        start = end
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rank correlation; None where either side is constant."""
    rx, ry = rank(np.asarray(x, float)), rank(np.asarray(y, float))
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def value_agreement(values: np.ndarray, tree: Tree) -> dict[str, float | None]:
    """Rank correlation of the implicit values with V*(p) − V*(x), over all distinct prefixes and at step ends."""
    target = tree.optimum_prefix_values()
    mask = np.broadcast_to(tree.first, values.shape)
    at_steps = mask[:, :, tree.step_ends]
    return {
        "spearman": spearman(values[mask], target[mask]),
        "spearman_steps": spearman(values[:, :, tree.step_ends][at_steps], target[:, :, tree.step_ends][at_steps]),
    }


def predict_first_error(readings: np.ndarray, threshold: float) -> np.ndarray:
    """The first step whose reading is below `threshold`, −1 where none is (readings [..., S])."""
    below = readings < threshold
    return np.where(below.any(-1), below.argmax(-1), -1)


def f1_score(predicted: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """(F1, accuracy on erroneous completions, accuracy on correct ones), as ProcessBench scores them."""
    erroneous = labels >= 0
    acc_error = float((predicted[erroneous] == labels[erroneous]).mean()) if erroneous.any() else 0.0
    acc_correct = float((predicted[~erroneous] == -1).mean()) if (~erroneous).any() else 0.0
    total = acc_error + acc_correct
    return (2 * acc_error * acc_correct / total if total else 0.0), acc_error, acc_correct


def best_threshold(readings: np.ndarray, labels: np.ndarray, candidates: int = 257) -> float:
    """The threshold with the highest F1 on these completions (ImplicitPRM's grid search, over quantiles)."""
    grid = np.unique(np.quantile(readings, np.linspace(0, 1, candidates)))
    grid = np.concatenate([[grid[0] - 1.0], (grid[:-1] + grid[1:]) / 2, [grid[-1] + 1.0]])
    scores = [f1_score(predict_first_error(readings, t), labels)[0] for t in grid]
    return float(grid[int(np.argmax(scores))])


def first_error_f1(step_readings: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """F1 over every completion, each predicted with the threshold chosen on the other half of the keys (two folds
    by key; a key's completions are never scored with a threshold tuned on them)."""
    keys = step_readings.shape[0]
    if keys < 2:
        raise ValueError("first-error F1 chooses its threshold on held-out keys: the task needs at least 2 keys")
    predicted = np.empty(labels.shape, dtype=int)
    for held_out in (np.arange(keys) % 2 == 0, np.arange(keys) % 2 == 1):
        tuning = step_readings[~held_out].reshape(-1, step_readings.shape[-1])
        threshold = best_threshold(tuning, labels[~held_out].ravel())
        predicted[held_out] = predict_first_error(step_readings[held_out], threshold)
    f1, acc_error, acc_correct = f1_score(predicted, labels)
    return {"f1": f1, "acc_error": acc_error, "acc_correct": acc_correct}


def best_of_n(scores: np.ndarray, rewards: np.ndarray, probs: np.ndarray, n: int) -> float:
    """Expected reward of the best-scored of n i.i.d. draws from `probs` (ties split in proportion to probability),
    for one key; `probs` sums to 1 over the completions."""
    order = np.argsort(scores, kind="mergesort")
    scores, rewards, probs = scores[order], rewards[order], probs[order]
    _, starts = np.unique(scores, return_index=True)
    ends = np.append(starts[1:], len(scores))
    below = np.concatenate([[0.0], np.cumsum(probs)])
    total = 0.0
    for start, end in zip(starts, ends, strict=True):
        group_mass = probs[start:end].sum()
        if group_mass <= 0:
            continue
        chance = below[end] ** n - below[start] ** n  # the best of n lies in this group
        total += chance * float((probs[start:end] * rewards[start:end]).sum() / group_mass)
    return total


def reranking(step_values: np.ndarray, final_values: np.ndarray, tree: Tree) -> dict[str, float]:
    """Best-of-N from π_ref's well-formed completions, by lowest step value and by final value, and the baselines."""
    probs = np.exp(tree.ref_token_logp.sum(-1))
    probs = probs / probs.sum(-1, keepdims=True)
    out: dict[str, float] = {"random": float((probs * tree.rewards).sum(-1).mean())}
    lowest = step_values.min(-1)
    for n in BEST_OF:
        for name, score in (("min", lowest), ("final", final_values), ("oracle", tree.rewards)):
            out[f"bon_{name}@{n}"] = float(
                np.mean([best_of_n(score[k], tree.rewards[k], probs[k], n) for k in range(len(tree.keys))])
            )
    return out


def measure(values: np.ndarray, tree: Tree) -> dict[str, float | None]:
    """Every number of one policy from its prefix values [K, C, L]."""
    at_steps = values[:, :, tree.step_ends]
    changes = np.diff(at_steps, axis=-1, prepend=0.0)
    by_value, by_change = first_error_f1(at_steps, tree.labels), first_error_f1(changes, tree.labels)
    return {
        **value_agreement(values, tree),
        "f1_value": by_value["f1"],
        "f1_value_acc_error": by_value["acc_error"],
        "f1_value_acc_correct": by_value["acc_correct"],
        "f1_change": by_change["f1"],
        **reranking(at_steps, values[:, :, -1], tree),
    }
