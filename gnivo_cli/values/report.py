"""What `compute_values` returns: per prompt, its completions with every token's numbers, sorted by reward."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gnivo_cli.values.maths import CompletionValues


def shown_tokens(tokens: list[str]) -> list[tuple[str, bool]]:
    """Each token as a reader sees it: newlines drawn as ↵ (so a coloured newline shows), and whether a line
    break follows it: after the last of a run of newline tokens, so a blank line is one break, not several."""
    shown = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        more_newlines = bool(following) and not following.strip("\n")
        shown.append((token.replace("\n", "↵") if token else "∅", "\n" in token and not more_newlines))
    return shown


@dataclass
class ScoredCompletion:
    """One completion: its tokens, their log-probs under both models, its values and its reward."""

    index: int  # position among its prompt's completions as generated or given (before sorting)
    text: str
    token_ids: list[int]
    tokens: list[str]  # each token's text, as the step boundaries read it
    policy_logps: list[float]
    ref_logps: list[float]
    values: CompletionValues
    reward: float | None = None
    rewards: dict[str, float | None] = field(default_factory=dict)
    finished: bool = True  # ended with the end-of-sequence token
    origin: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        values = self.values
        return {
            "index": self.index,
            "text": self.text,
            "reward": self.reward,
            "rewards": self.rewards,
            "finished": self.finished,
            "origin": self.origin,
            "min_step_value": values.min_step_value,
            "lowest_step": values.lowest_step,
            "final_value": values.final_value,
            "tokens": [
                {
                    "id": token_id,
                    "text": text,
                    "logp_policy": policy,
                    "logp_reference": reference,
                    "log_ratio": ratio,
                    "value": value,
                    "step": step,
                }
                for token_id, text, policy, reference, ratio, value, step in zip(
                    self.token_ids,
                    self.tokens,
                    self.policy_logps,
                    self.ref_logps,
                    values.log_ratios,
                    values.values,
                    values.step_of_token(),
                    strict=True,
                )
            ],
            "steps": [
                {"index": index, "last_token": end, "text": self.step_text(index), "value": value, "change": change}
                for index, (end, value, change) in enumerate(
                    zip(values.step_ends, values.step_values, values.step_changes, strict=True)
                )
            ],
        }

    def step_text(self, step: int) -> str:
        start = self.values.step_ends[step - 1] + 1 if step else 0
        return "".join(self.tokens[start : self.values.step_ends[step] + 1])


@dataclass
class PromptReport:
    label: str
    messages: list[dict[str, str]]
    completions: list[ScoredCompletion]  # highest reward first
    columns: dict[str, Any] = field(default_factory=dict)

    @property
    def question(self) -> str:
        """The last user message: what a reader recognises the prompt by."""
        users = [m["content"] for m in self.messages if m.get("role") == "user"]
        return users[-1] if users else (self.messages[-1]["content"] if self.messages else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "messages": self.messages,
            "columns": self.columns,
            "completions": [completion.to_dict() for completion in self.completions],
        }


@dataclass
class ValuesReport:
    target: dict[str, Any]  # ValueTarget.describe()
    settings: dict[str, Any]
    prompts: list[PromptReport]
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def scale(self) -> float:
        return float(self.target["scale"])

    def value_limit(self) -> float:
        """The largest |value| of any token: one colour scale for every completion, so they compare."""
        return max((abs(v) for p in self.prompts for c in p.completions for v in c.values.values), default=0.0)

    def change_limit(self) -> float:
        """The largest |scale · log-ratio| of any token, for colouring by each token's own change."""
        return max(
            (abs(self.scale * r) for p in self.prompts for c in p.completions for r in c.values.log_ratios),
            default=0.0,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "settings": self.settings,
            "notes": self.notes,
            "seconds": self.seconds,
            "prompts": [prompt.to_dict() for prompt in self.prompts],
        }
