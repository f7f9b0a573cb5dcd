"""A toy where GN-IVO's answer is known in closed form: a tree of token sequences with a tabular policy.

Every response is a path of `depth` tokens, each token one of `branching` choices; the policy keeps one
logit vector per internal node. Rewards sit on the leaves. With pi_old fixed, the KL-regularized optimum is

    pi*(y_<t) = pi_old(y_<t) exp(V(y_<t)) / Z,   V(y_<t) = log E_pi_old[exp(R / alpha) | y_<t]

at every prefix (docs/theory.md). The expected GN-IVO loss over groups of K leaves drawn from pi_old can be
computed EXACTLY by enumerating every multiset of K leaves with its multinomial probability: no sampling
noise, so a test can check the theorem to float64 precision, and measure the bias of the normalized
weights softmax(R / alpha) against it. The loss itself is the project's real `gnivo_loss_terms`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

from gnivo_cli.algorithms.gnivo.loss import PrefixMode, WeightMode, gnivo_loss_terms, group_weights


@dataclass(frozen=True)
class ToyTree:
    """A complete tree of token sequences: `branching` tokens at each of `depth` positions."""

    depth: int = 3
    branching: int = 2

    @property
    def num_leaves(self) -> int:
        return self.branching**self.depth

    @property
    def num_nodes(self) -> int:
        """Internal nodes, each holding one logit vector of the tabular policy."""
        return (self.num_leaves - 1) // (self.branching - 1)

    def paths(self) -> torch.Tensor:
        """(L, depth) tokens of each leaf, leaves in lexicographic order."""
        return torch.tensor(list(itertools.product(range(self.branching), repeat=self.depth)), dtype=torch.long)

    def nodes(self) -> torch.Tensor:
        """(L, depth) index of the node each leaf's t-th token is chosen at (nodes numbered breadth-first)."""
        paths = self.paths()
        index = torch.zeros_like(paths)
        prefix = torch.zeros(paths.shape[0], dtype=torch.long)  # the prefix as a base-`branching` number
        for t in range(self.depth):
            index[:, t] = (self.branching**t - 1) // (self.branching - 1) + prefix
            prefix = prefix * self.branching + paths[:, t]
        return index

    def token_logps(self, logits: torch.Tensor) -> torch.Tensor:
        """(L, depth) per-token log-probs along each leaf's path under the tabular policy `logits` (N, B)."""
        log_probs = torch.log_softmax(logits, dim=-1)
        return log_probs[self.nodes(), self.paths()]

    def prefix_logprobs(self, logits: torch.Tensor) -> list[torch.Tensor]:
        """log pi(y_<t) for t = 1..depth: entry t-1 has one value per prefix of t tokens (B**t of them)."""
        cumulative = self.token_logps(logits).cumsum(dim=-1)
        return [cumulative[:: self.branching ** (self.depth - t), t - 1] for t in range(1, self.depth + 1)]

    def soft_values(self, old_logits: torch.Tensor, leaf_weights: torch.Tensor) -> list[torch.Tensor]:
        """V(y_<t) = log E_pi_old[exp(R/alpha) | y_<t] for t = 1..depth, from the leaves' exp(R/alpha)."""
        leaf_old = self.token_logps(old_logits).sum(dim=-1)
        values = []
        for t in range(1, self.depth + 1):
            below = self.branching ** (self.depth - t)  # leaves under one prefix of t tokens
            # The conditional law of the leaves under a prefix is pi_old(leaf) / pi_old(prefix).
            joint = (leaf_old + leaf_weights.log()).view(-1, below).logsumexp(dim=-1)
            prefix_old = leaf_old.view(-1, below).logsumexp(dim=-1)
            values.append(joint - prefix_old)
        return values

    def optimal_logits(self, old_logits: torch.Tensor, leaf_weights: torch.Tensor) -> torch.Tensor:
        """The tabular policy pi* with pi*(y_<t) / pi_old(y_<t) proportional to exp(V(y_<t)) at every prefix.

        pi*(token | node) = pi_old(token | node) exp(V(child) - V(node)); the node's term is a per-node
        constant that softmax drops, so the logits are log pi_old(token | node) + V(child).
        """
        values = self.soft_values(old_logits, leaf_weights)
        children = torch.cat(values).view(self.num_nodes, self.branching)  # breadth-first, as the nodes
        return torch.log_softmax(old_logits, dim=-1) + children


def example_problem() -> tuple[ToyTree, torch.Tensor, torch.Tensor]:
    """The toy the theory test and docs/theory.md use: depth 3, branching 2, a skewed pi_old, 8 leaf rewards."""
    old_logits = torch.tensor(
        [[0.4, -0.3], [0.0, 0.6], [-0.5, 0.2], [0.3, 0.0], [-0.2, 0.7], [0.9, -0.4], [0.0, 0.1]],
        dtype=torch.float64,
    )
    rewards = torch.tensor([1.0, 0.0, 0.3, 0.7, 0.0, 0.5, 0.9, 0.1], dtype=torch.float64)
    return ToyTree(depth=3, branching=2), old_logits, rewards


def enumerate_groups(
    num_leaves: int, group_size: int, leaf_logprobs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every multiset of `group_size` leaves, and its probability when K leaves are drawn i.i.d. from pi_old.

    The loss of a group does not depend on the order of its members, so the C(L+K-1, K) multisets with
    multinomial weights K! / prod(n_j!) prod p_j^n_j stand in for the L**K ordered draws.
    Returns (members (M, K) leaf indices, log-probabilities (M,)).
    """
    members = torch.tensor(
        list(itertools.combinations_with_replacement(range(num_leaves), group_size)), dtype=torch.long
    )
    counts = torch.zeros(members.shape[0], num_leaves, dtype=leaf_logprobs.dtype)
    counts.scatter_add_(1, members, torch.ones_like(members, dtype=counts.dtype))
    log_multinomial = math.lgamma(group_size + 1) - torch.lgamma(counts + 1).sum(dim=-1)
    return members, log_multinomial + leaf_logprobs[members].sum(dim=-1)


@dataclass
class ExactGNIVO:
    """The exact expected GN-IVO loss of a tabular policy on a `ToyTree`, with pi_old and rewards fixed."""

    tree: ToyTree
    old_logits: torch.Tensor  # (N, B)
    rewards: torch.Tensor  # (L,)
    group_size: int
    alpha: float
    prefix: PrefixMode = "all"
    weights: WeightMode = "normalized"
    chunk_groups: int = 65_536  # bounds memory: K = 16 over 8 leaves is 245,157 groups

    def __post_init__(self) -> None:
        old_leaf = self.tree.token_logps(self.old_logits).sum(dim=-1)
        self.members, self.group_logprob = enumerate_groups(self.tree.num_leaves, self.group_size, old_leaf)

    def leaf_weights(self) -> torch.Tensor:
        """exp(R / alpha) per leaf as the loss computes its Eq. 9 weights (so rounding matches exactly)."""
        rewards = self.rewards.view(1, -1)
        return group_weights(rewards, group_size=rewards.shape[1], alpha=self.alpha, weights="exp").view(-1).double()

    def optimal_logits(self) -> torch.Tensor:
        return self.tree.optimal_logits(self.old_logits, self.leaf_weights())

    def value_and_grad(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """E_{groups ~ pi_old}[loss] and its exact gradient with respect to the tabular `logits`."""
        logits = logits.detach().requires_grad_(True)
        old = self.tree.token_logps(self.old_logits).detach()
        total = torch.zeros((), dtype=logits.dtype)
        grad = torch.zeros_like(logits)
        for start in range(0, self.members.shape[0], self.chunk_groups):
            members = self.members[start : start + self.chunk_groups]
            probs = self.group_logprob[start : start + self.chunk_groups].exp()
            value, surrogate = self._chunk(logits, old, members, probs)
            (chunk_grad,) = torch.autograd.grad(surrogate, logits)
            total += value
            grad += chunk_grad
        return total, grad

    def _chunk(self, logits, old, members, probs) -> tuple[torch.Tensor, torch.Tensor]:
        rows = members.reshape(-1)
        logps = self.tree.token_logps(logits)[rows]
        # gnivo_loss averages groups uniformly; scaling each row's gradient by M * P(group) turns that mean
        # into the expectation sum_g P(g) loss_g without touching the loss (the forward value is unchanged).
        scale = (probs * members.shape[0]).repeat_interleave(self.group_size).unsqueeze(1)
        scaled = logps.detach() + scale * (logps - logps.detach())
        terms = gnivo_loss_terms(
            scaled,
            old[rows],
            torch.ones_like(logps),  # every leaf has the full depth: no padding
            self.rewards[rows],
            group_size=self.group_size,
            alpha=self.alpha,
            prefix=self.prefix,
            weights=self.weights,
        )
        return (probs * terms.group_loss).sum(), terms.loss

    def minimize(self, start: torch.Tensor, *, max_iter: int = 500) -> torch.Tensor:
        """The tabular logits minimizing the exact expected loss, by L-BFGS in float64 from `start`."""
        logits = start.detach().clone().double().requires_grad_(True)
        optimizer = torch.optim.LBFGS(
            [logits],
            lr=1.0,
            max_iter=max_iter,
            history_size=20,
            tolerance_grad=1e-13,
            tolerance_change=1e-16,
            line_search_fn="strong_wolfe",
        )

        def closure():
            value, grad = self.value_and_grad(logits)
            logits.grad = grad
            return value

        optimizer.step(closure)
        return logits.detach()


@dataclass(frozen=True)
class PolicyGap:
    """How far a tabular policy lands from pi*: per depth max |log pi(y_<t) - log pi*(y_<t)|, and leaf KLs."""

    max_log_ratio_error: tuple[float, ...]  # one per depth t = 1..depth
    kl_learned_optimal: float  # KL(pi || pi*) over the leaves
    kl_optimal_learned: float  # KL(pi* || pi) over the leaves
    reward_gap: float  # E_pi[R] - E_pi*[R]


def policy_gap(tree: ToyTree, logits: torch.Tensor, optimal: torch.Tensor, rewards: torch.Tensor) -> PolicyGap:
    """Compare two tabular policies prefix by prefix (both are normalized, so no free constant remains)."""
    learned_prefixes = tree.prefix_logprobs(logits)
    optimal_prefixes = tree.prefix_logprobs(optimal)
    errors = tuple(float((a - b).abs().max()) for a, b in zip(learned_prefixes, optimal_prefixes, strict=True))
    p, q = learned_prefixes[-1], optimal_prefixes[-1]
    return PolicyGap(
        max_log_ratio_error=errors,
        kl_learned_optimal=float((p.exp() * (p - q)).sum()),
        kl_optimal_learned=float((q.exp() * (q - p)).sum()),
        reward_gap=float(((p.exp() - q.exp()) * rewards).sum()),
    )
