"""`compute_values`: prompts -> completions (generated, seeded, or given) -> both models' log-probs -> values
and rewards, one `ValuesReport`.

    from gnivo_cli.values.compute import ValuesSettings, compute_values
    from gnivo_cli.values.sources import prompt_items
    from gnivo_cli.values.target import resolve_target

    target = resolve_target("runs/quickstart")
    items = prompt_items(["What is 3 + 4?"], target.data, {"answer": "7"})
    report = compute_values(target, items, ValuesSettings(samples=8))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.values.maths import completion_values
from gnivo_cli.values.report import PromptReport, ScoredCompletion, ValuesReport
from gnivo_cli.values.sources import GivenCompletion, PromptItem
from gnivo_cli.values.target import ValueTarget

#: stage(description, total) -> a context manager yielding advance(n): a progress bar per stage (total 0: no count).
Stage = Callable[[str, int], Any]


@dataclass(frozen=True)
class ValuesSettings:
    samples: int = 4  # completions generated per prompt
    seed: int = 0
    temperature: float | None = None  # None: the run's, else 1.0
    top_p: float | None = None
    max_new_tokens: int | None = None
    batch_size: int = 8  # sequences per forward pass
    reward: str | None = None  # score with this reward instead of the recipe's (or the recorded ones)
    reward_params: dict[str, Any] = field(default_factory=dict)
    dtype: str | None = None
    device: str | None = None

    def problems(self) -> list[str]:
        problems = []
        if self.samples < 1:
            problems.append(f"--samples must be at least 1, got {self.samples}")
        if self.temperature is not None and self.temperature < 0:
            problems.append(f"--temperature must be 0 (greedy) or more, got {self.temperature}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            problems.append(f"--top-p must lie in (0, 1], got {self.top_p}")
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            problems.append(f"--max-new-tokens must be at least 1, got {self.max_new_tokens}")
        if self.batch_size < 1:
            problems.append(f"--batch-size must be at least 1, got {self.batch_size}")
        return problems


def compute_values(
    target: ValueTarget,
    items: Sequence[PromptItem],
    settings: ValuesSettings | None = None,
    *,
    scorer: Any = None,
    stage: Stage | None = None,
) -> ValuesReport:
    """Values and rewards of every completion of every prompt; `scorer` reuses loaded models."""
    from contextlib import nullcontext

    from gnivo_cli.values.scorer import ValueScorer

    settings = settings or ValuesSettings()
    if settings.problems():
        raise GnivoError("; ".join(settings.problems()))
    if not items:
        raise GnivoError("no prompts: give --prompt TEXT, --data FILE or --eval DIR")
    stage = stage or (lambda description, total: nullcontext(lambda done: None))
    seconds: dict[str, float] = {}
    sampling = _sampling(target, settings)
    started = time.perf_counter()
    owned = scorer is None
    if owned:
        with stage(f"Loading {target.policy} and its reference", 0):
            scorer = ValueScorer.load(
                target, dtype=settings.dtype, device=settings.device, batch_size=settings.batch_size
            )
    seconds["load"] = time.perf_counter() - started
    try:
        tokenizer = scorer.tokenizer
        prompts = [encode_messages(tokenizer, item.messages) for item in items]
        _check_prompts_fit(items, prompts, scorer.context_length, sampling.max_new_tokens)
        started = time.perf_counter()
        generated = _generate(scorer, items, prompts, sampling, stage)
        seconds["generation"] = time.perf_counter() - started
        completions = [
            generated[i] if item.completions is None else [_given_ids(tokenizer, c, target) for c in item.completions]
            for i, item in enumerate(items)
        ]
        _check_completions_fit(items, prompts, completions, scorer.context_length)
        started = time.perf_counter()
        flat = [(p, ids) for p, rows in zip(prompts, completions, strict=True) for ids, _ in rows]
        with stage("Reading values (policy and reference passes)", len(flat)) as advance:
            logps = scorer.log_probs(flat, on_batch=advance)
        seconds["scoring"] = time.perf_counter() - started
    finally:
        if owned:
            scorer.close()
    started = time.perf_counter()
    report = _assemble(target, items, completions, logps, settings, tokenizer)
    seconds["rewards"] = time.perf_counter() - started
    generated_any = any(item.completions is None for item in items)
    if generated_any and sampling.greedy and settings.samples > 1:
        report.notes.append(f"temperature 0 is greedy: the {settings.samples} completions of a prompt are the same")
    report.settings = {**asdict(settings), **asdict(sampling), "generated": generated_any}
    report.seconds = {key: round(value, 3) for key, value in seconds.items()}
    return report


def encode_messages(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    """Prompt ids as training and evaluation build them: the chat template with the generation prompt."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return tokenizer(text, add_special_tokens=False)["input_ids"]
    return tokenizer("\n\n".join(m["content"] for m in messages) + "\n")["input_ids"]


def _sampling(target: ValueTarget, settings: ValuesSettings) -> Any:
    from gnivo_cli.evaluation.settings import SamplingSettings

    run = target.run_dir is not None
    return SamplingSettings(
        temperature=settings.temperature if settings.temperature is not None else target.generation.temperature,
        top_p=settings.top_p if settings.top_p is not None else target.generation.top_p,
        max_new_tokens=settings.max_new_tokens or (target.generation.max_new_tokens if run else 128),
        samples_per_problem=settings.samples,
        seed=settings.seed,
    )


def _check_prompts_fit(items, prompts, context: int | None, max_new_tokens: int) -> None:
    """A prompt to generate for must leave room for `max_new_tokens` in the model's context."""
    for item, prompt in zip(items, prompts, strict=True):
        if context is not None and item.completions is None and len(prompt) + max_new_tokens > context:
            raise GnivoError(
                f"{item.label}: the prompt is {len(prompt)} tokens; with {max_new_tokens} new tokens that is beyond "
                f"the model's context of {context} (shorten it or lower --max-new-tokens)"
            )


def _check_completions_fit(items, prompts, completions, context: int | None) -> None:
    """Prompt and completion together must fit the model's context (given completions can be any length)."""
    for item, prompt, rows in zip(items, prompts, completions, strict=True):
        longest = max((len(ids) for ids, _ in rows), default=0)
        if context is not None and len(prompt) + longest > context:
            raise GnivoError(
                f"{item.label}: prompt and completion make {len(prompt) + longest} tokens, beyond the model's "
                f"context of {context}"
            )


def _generate(scorer, items, prompts, sampling, stage) -> dict[int, list[tuple[list[int], GivenCompletion]]]:
    from gnivo_cli.evaluation.generation import SampleRequest
    from gnivo_cli.evaluation.hf_backend import HFGenerator

    wanted = [i for i, item in enumerate(items) if item.completions is None]
    if not wanted:
        return {}
    generator = HFGenerator(scorer.policy, scorer.tokenizer, sampling)
    requests = [SampleRequest(str(i), k, prompts[i]) for i in wanted for k in range(sampling.samples_per_problem)]
    out: dict[int, list[tuple[list[int], GivenCompletion]]] = {i: [] for i in wanted}
    with stage(f"Generating {sampling.samples_per_problem} completions per prompt", len(requests)) as advance:
        for batch in generator.generate(requests):
            advance(len(batch))
            for done in batch:
                finished = done.finish_reason == "stop"
                origin = {"sample_index": done.request.sample_index}
                given = GivenCompletion(done.text, finished=finished, origin=origin)
                out[int(done.request.problem_id)].append((list(done.token_ids), given))
    for rows in out.values():
        rows.sort(key=lambda row: row[1].origin["sample_index"])
    return out


def _given_ids(tokenizer: Any, given: GivenCompletion, target: ValueTarget) -> tuple[list[int], GivenCompletion]:
    """A given completion re-tokenized from its text, with the end-of-sequence token where it ended."""
    ids = tokenizer(given.text, add_special_tokens=False)["input_ids"]
    finished = given.finished
    if finished is None:  # a run's log does not say: shorter than the run's limit means it stopped
        finished = target.run_dir is None or len(ids) < target.generation.max_new_tokens
    if finished and tokenizer.eos_token_id is not None:
        ids = [*ids, tokenizer.eos_token_id]
    return ids, GivenCompletion(given.text, given.reward, given.has_reward, given.rewards, finished, given.origin)


def _assemble(target, items, completions, logps, settings, tokenizer) -> ValuesReport:
    from gnivo_cli.algorithms.gnivo.step_boundaries import step_ends
    from gnivo_cli.recipe.sections import RewardSpec
    from gnivo_cli.values.rewarding import RewardInput, score_rewards

    texts: dict[int, str] = {}

    def token_text(token: int) -> str:  # as the trainer's step boundaries read a token
        if token not in texts:
            texts[token] = tokenizer.decode([token])
        return texts[token]

    flat = iter(logps)
    scored: list[list[ScoredCompletion]] = []
    for rows in completions:
        group = []
        for index, (ids, given) in enumerate(rows):
            lp = next(flat)
            tokens = [token_text(t) for t in ids]
            ends = step_ends(tokens, target.separator) if target.unit == "step" else None
            values = completion_values(lp.policy, lp.reference, ends, scale=target.scale)
            group.append(
                ScoredCompletion(
                    index, given.text, list(ids), tokens, lp.policy, lp.reference, values, reward=given.reward,
                    rewards=dict(given.rewards), finished=bool(given.finished), origin=given.origin,
                )
            )  # fmt: skip
        scored.append(group)
    notes = []
    specs = [RewardSpec(settings.reward, 1.0, settings.reward_params)] if settings.reward else target.rewards
    todo = [
        (i, c) for i, group in enumerate(scored) for c, (_, g) in zip(group, completions[i], strict=True)
        if settings.reward or not g.has_reward
    ]  # fmt: skip
    if todo and specs:
        inputs = [RewardInput(items[i].messages, c.text, items[i].columns) for i, c in todo]
        totals, parts, notes = score_rewards(specs, inputs)
        for (_, completion), total, part in zip(todo, totals, parts, strict=True):
            completion.reward, completion.rewards = total, part
    elif todo:
        notes.append("no reward to score the completions with: pass --reward NAME")
    prompts = [
        PromptReport(item.label, item.messages, sorted(group, key=_by_reward), dict(item.columns))
        for item, group in zip(items, scored, strict=True)
    ]
    return ValuesReport(target=target.describe(), settings={}, prompts=prompts, notes=notes)


def _by_reward(completion: ScoredCompletion) -> tuple[int, float, int]:
    """Highest reward first, completions without one last; equal rewards keep their order."""
    missing = completion.reward is None
    return (missing, 0.0 if missing else -completion.reward, completion.index)
