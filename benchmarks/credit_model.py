"""The policy of the credit benchmark: a tiny Llama, pretrained in-process on `synthetic:steps` completions.

The tokenizer is byte-level with no merges (one token per character, so every completion has one
tokenization) and a ChatML template; the model (about 230k parameters) is pretrained to imitate
uniformly random well-formed completions of every prompt, so pi_old gives every completion about the
same probability (full support). Deterministic for a given seed and thread count.
"""

from __future__ import annotations

from pathlib import Path

from gnivo_cli.data.synthetic_steps import SEPARATOR, WORDS, completion_text, prompt_text


def build_tokenizer():
    """Bytes only (256 tokens + 3 special ones): no merges, so each text has exactly one tokenization."""
    from gnivo_cli.models.tiny import SPECIAL_TOKENS, tiny_tokenizer

    return tiny_tokenizer(["".join(WORDS) + SEPARATOR], vocab_size=256 + len(SPECIAL_TOKENS))


def build_model(tokenizer, seed: int):
    """About 230k parameters: 4 layers, hidden size 64."""
    from gnivo_cli.models.tiny import tiny_causal_lm

    sizes = dict(hidden_size=64, intermediate_size=192, num_hidden_layers=4, num_key_value_heads=4)
    return tiny_causal_lm(tokenizer, seed, **sizes, max_position_embeddings=128)


#: The pretraining-only prompt that asks to start with the word (`say ab`), as long as `key ab`: the model
#: learns to copy a word from the prompt, but not that `key` prompts want it (their first steps stay uniform).
SAY = "say"


def prompt_ids(tokenizer, key: str, *, say: bool = False) -> list[int]:
    """The prompt's tokens as the trainers see them (chat template with the generation prompt)."""
    text = prompt_text(key).replace("key", SAY, 1) if say else prompt_text(key)
    messages = [{"role": "user", "content": text}]
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def completion_ids(tokenizer, words) -> list[int]:
    return tokenizer(completion_text(words), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]


def pretrain(
    model,
    tokenizer,
    steps: int,
    *,
    seed: int,
    batch: int = 128,
    lr: float = 3e-3,
    n_steps: int = 4,
    first_right: float = 0.25,
    say_share: float = 0.0,
    say_only_steps: int = 0,
) -> list[float]:
    """Fit the model to random completions of every key; returns the loss per step.

    Every step word is uniform, except the first, which is the key with probability `first_right` (the
    other three share the rest): 0.25 is uniform. A share `say_share` of the rows instead has the prompt
    `say W` and the first step W (later steps uniform): the model learns to copy a word from its prompt,
    a skill RL can put to use on `key` prompts, whose first step the model still draws uniformly. The
    first `say_only_steps` steps have only `say` rows: copying is learned faster alone (it appears
    abruptly, after a few hundred steps), and the mixed steps after it teach `key` prompts to ignore the word.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    prompts = {(key, say): prompt_ids(tokenizer, key, say=say) for key in WORDS for say in (False, True)}
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    losses = []
    for step in range(steps):
        share = 1.0 if step < say_only_steps else say_share
        keys = torch.randint(len(WORDS), (batch,), generator=generator).tolist()
        choices = torch.randint(len(WORDS), (batch, n_steps), generator=generator)
        right = torch.rand(batch, generator=generator) < first_right
        says = (torch.rand(batch, generator=generator) < share).tolist()
        others = (torch.tensor(keys) + torch.randint(1, len(WORDS), (batch,), generator=generator)) % len(WORDS)
        choices[:, 0] = torch.where(right | torch.tensor(says), torch.tensor(keys), others)
        choices = choices.tolist()
        rows = [
            prompts[WORDS[k], say] + completion_ids(tokenizer, [WORDS[c] for c in cs])
            for k, cs, say in zip(keys, choices, says, strict=True)
        ]
        ids = torch.tensor(rows)  # one length for all: keys and completions have fixed sizes
        labels = ids.clone()
        labels[:, : len(prompts[WORDS[0], False])] = -100  # only the completion is learned
        loss = model(input_ids=ids, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


def build_pretrained(
    path: Path,
    *,
    seed: int = 0,
    steps: int = 600,
    n_steps: int = 4,
    first_right: float = 0.25,
    say_share: float = 0.0,
    say_only_steps: int = 0,
    batch: int = 128,
    lr: float = 3e-3,
) -> list[float]:
    """Build, pretrain and save the model with its tokenizer into `path` (a model folder any recipe accepts)."""
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed)
    losses = pretrain(
        model,
        tokenizer,
        steps,
        seed=seed,
        n_steps=n_steps,
        first_right=first_right,
        say_share=say_share,
        say_only_steps=say_only_steps,
        batch=batch,
        lr=lr,
    )
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return losses
