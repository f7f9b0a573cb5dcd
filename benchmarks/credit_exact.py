"""Exact quantities of a policy on `synthetic:steps`, from one forward pass over every completion.

For each key, every well-formed completion (4 ** steps) is scored by the model; what the model gives to
anything else (stray tokens, a wrong number of steps) is the `leak`, one bucket with reward 0. The KL
to the KL-regularized optimum pi* = pi_ref * exp(R / alpha) / Z is exact over the well-formed
completions and treats the leak as one outcome (a lower bound on the full KL, equal to it when the
policy keeps pi_ref's shape inside the bucket; the pretrained model leaks about 1%).
"""

from __future__ import annotations

from dataclasses import dataclass

from gnivo_cli.data.synthetic_steps import WORDS, all_completions, step_reward


@dataclass
class Enumeration:
    """Log-probabilities [keys, completions] (float64) and what is needed to check them."""

    keys: tuple[str, ...]  # the prompts' keys, one row each
    logp: object  # torch.Tensor [len(keys), 4 ** steps]
    rewards: object  # torch.Tensor, same shape
    valid_mass: object  # [keys, completions, positions]: mass of the grammar's tokens at each position
    token_logp: object  # [keys, completions, positions]: log-prob of each completion token


def _completion_log_probs(model, prompt: list[int], completions, *, cached: bool):
    """log-softmax over the vocabulary before each completion token, [completions, length, vocab] (float64).

    `cached`: the prompt is run once and its key/value cache shared by every completion (2-3x faster);
    the plain path runs every full sequence and is kept to check it.
    """
    import torch

    count = completions.shape[0]
    if not cached:
        ids = torch.cat([torch.tensor([prompt]).expand(count, -1), completions], dim=1)
        logits = model(input_ids=ids).logits[:, len(prompt) - 1 : -1]
        return torch.log_softmax(logits.double(), dim=-1)
    head = model(input_ids=torch.tensor([prompt]), use_cache=True)
    cache = head.past_key_values
    cache.batch_repeat_interleave(count)
    rest = model(input_ids=completions[:, :-1], cache=cache).logits
    logits = torch.cat([head.logits[:, -1:].expand(count, -1, -1), rest], dim=1)
    return torch.log_softmax(logits.double(), dim=-1)


def enumerate_policy(model, tokenizer, steps: int, *, keys=WORDS, cached: bool = True) -> Enumeration:
    import torch

    from benchmarks.credit_model import completion_ids, prompt_ids

    completions = all_completions(steps)
    keys = tuple(keys)
    rewards = torch.tensor([[step_reward(words, key) for words in completions] for key in keys], dtype=torch.float64)
    completion_rows = [completion_ids(tokenizer, words) for words in completions]
    length = len(completion_rows[0])
    # The grammar allows one set of tokens per position: the two letters, a newline, or the end.
    allowed = [sorted({row[j] for row in completion_rows}) for j in range(length)]
    logps, masses, token_logps = [], [], []
    with torch.no_grad():
        for key in keys:
            target = torch.tensor(completion_rows)
            log_probs = _completion_log_probs(model, prompt_ids(tokenizer, key), target, cached=cached)
            token_logp = log_probs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
            mass = torch.stack([log_probs[:, j, allowed[j]].exp().sum(-1) for j in range(length)], dim=1)
            logps.append(token_logp.sum(-1))
            masses.append(mass)
            token_logps.append(token_logp)
    return Enumeration(keys, torch.stack(logps), rewards, torch.stack(masses), torch.stack(token_logps))


def leak_by_prefixes(enum: Enumeration):
    """Mass leaving the grammar, summed prefix by prefix: sum over prefixes of P(prefix) * (1 - allowed mass).

    Independent of `1 - sum(p)`: the two agree only if the enumeration lists every completion once.
    """
    import torch

    keys, count, length = enum.token_logp.shape
    prefix_logp = torch.cumsum(enum.token_logp, dim=-1) - enum.token_logp  # log P(tokens before j)
    leak = torch.zeros(keys, dtype=torch.float64)
    for j in range(length):
        distinct = len({tuple(row) for row in enum.token_logp[0, :, :j].tolist()}) if j else 1
        leak += (prefix_logp[:, :, j].exp() * (1 - enum.valid_mass[:, :, j])).sum(-1) * distinct / count
    return leak


@dataclass
class Exact:
    expected_reward: float  # mean over keys of sum_y pi(y) R(y)
    first_step_right: float  # P(first step == key), mean over keys
    first_step_right_min: float  # the same for the key read worst: a policy that reads every key has it high
    first_step_right_by_key: list[float]  # per key, in the order of the keys
    kl_to_optimum: float  # KL(pi || pi*), mean over keys
    kl_to_reference: float  # KL(pi || pi_ref), mean over keys
    leak: float  # mass outside the grammar, mean over keys

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def optimum_logp(ref_logp, rewards, alpha: float):
    """log pi* over the completions and the leak bucket (last column), pi* = pi_ref exp(R/alpha) / Z."""
    import torch

    with_leak = torch.cat([ref_logp, torch.log1p(-ref_logp.exp().sum(-1, keepdim=True).clamp(max=1 - 1e-12))], dim=-1)
    tilted = with_leak + torch.cat([rewards, torch.zeros_like(rewards[:, :1])], dim=-1) / alpha
    return tilted - torch.logsumexp(tilted, dim=-1, keepdim=True)


def with_leak_bucket(logp):
    import torch

    leak = (1 - logp.exp().sum(-1, keepdim=True)).clamp(min=1e-300)
    return torch.cat([logp, leak.log()], dim=-1)


def kl(logp, logq) -> float:
    return float((logp.exp() * (logp - logq)).sum(-1).mean())


def exact_metrics(logp, ref_logp, rewards, alpha: float, keys=WORDS) -> Exact:
    """The numbers of a policy (rows of `logp` follow `keys`), against pi_ref and the optimum of `alpha`."""
    probs = logp.exp()
    full = with_leak_bucket(logp)
    firsts = _first_step_right(probs, tuple(keys))
    return Exact(
        expected_reward=float((probs * rewards).sum(-1).mean()),
        first_step_right=sum(firsts) / len(firsts),
        first_step_right_min=min(firsts),
        first_step_right_by_key=firsts,
        kl_to_optimum=kl(full, optimum_logp(ref_logp, rewards, alpha)),
        kl_to_reference=kl(full, with_leak_bucket(ref_logp)),
        leak=float((1 - probs.sum(-1)).mean()),
    )


def _first_step_right(probs, keys: tuple[str, ...]) -> list[float]:
    """P(first step == key) for each key (row)."""
    block = probs.shape[1] // len(WORDS)  # completions are listed first step first: one block per first word
    return [
        float(probs[row, WORDS.index(key) * block : (WORDS.index(key) + 1) * block].sum())
        for row, key in enumerate(keys)
    ]
