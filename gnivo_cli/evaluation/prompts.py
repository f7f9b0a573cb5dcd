"""Turning a problem into the model's prompt: a user-message template inside the model's chat template.

The template is read by the same engine as training's `data.prompt_template` (`gnivo_cli.data.templates`):
`{problem}` is the problem, `{field}` another field of the benchmark's rows, `{{` and `}}` literal braces,
and every other brace literal text (`\\boxed{}`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gnivo_cli.data import templates
from gnivo_cli.errors import GnivoError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

PROBLEM = "problem"
# The instruction of Qwen2.5-Math and simpleRL-reason evaluations: the answer goes in \boxed{}.
DEFAULT_TEMPLATE = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{}."


@dataclass(frozen=True)
class PromptTemplate:
    """`template` is the user message, with `{problem}` where the problem goes (and `{field}` for other
    fields of a row); `system` an optional system message."""

    template: str = DEFAULT_TEMPLATE
    system: str | None = None

    def __post_init__(self) -> None:
        if PROBLEM not in templates.placeholders(self.template):
            raise GnivoError(f"the prompt template must contain {{{PROBLEM}}} (got {self.template!r})")

    @property
    def fields(self) -> list[str]:
        """The row fields the template reads besides the problem."""
        return [name for name in templates.placeholders(self.template) if name != PROBLEM]

    def user_message(self, problem: str, fields: Mapping[str, Any] | None = None) -> str:
        return templates.render(self.template, {**(fields or {}), PROBLEM: problem})

    def messages(self, problem: str, fields: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
        """The prompt as chat messages (system, user): what the model is asked, and what a reward receives."""
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": self.user_message(problem, fields)})
        return messages

    def render(self, tokenizer: PreTrainedTokenizerBase, problem: str, fields: Mapping[str, Any] | None = None) -> str:
        """The full prompt text: the chat template when the tokenizer has one, else the plain message."""
        if uses_chat_template(tokenizer):
            return tokenizer.apply_chat_template(
                self.messages(problem, fields), tokenize=False, add_generation_prompt=True
            )
        user = self.user_message(problem, fields)
        return f"{self.system}\n\n{user}\n" if self.system else f"{user}\n"

    def encode(
        self, tokenizer: PreTrainedTokenizerBase, problem: str, fields: Mapping[str, Any] | None = None
    ) -> list[int]:
        """Prompt token ids. A chat template writes its own special tokens, so none are added then."""
        text = self.render(tokenizer, problem, fields)
        return tokenizer(text, add_special_tokens=not uses_chat_template(tokenizer))["input_ids"]

    def check(self, bench: str, fields_by_problem: Mapping[str, Mapping[str, Any]], graded: Iterable[str]) -> None:
        """Before any model loads: every field the template reads is in every problem's fields (by problem
        id), and none of them holds what the answers are graded against (`graded`: the gold field, the
        reward's graded columns)."""
        leaked = [name for name in self.fields if name in set(graded)]
        if leaked:
            raise GnivoError(
                f"--prompt-template renders {{{leaked[0]}}}, the field benchmark {bench!r} grades answers against: "
                "the model would see its answer"
            )
        for problem_id, fields in fields_by_problem.items():
            missing = [name for name in self.fields if name not in fields]
            if missing:
                message = templates.missing_message(missing, [PROBLEM, *fields], "fields")
                raise GnivoError(f"--prompt-template {message} (benchmark {bench!r}, problem {problem_id})")


def uses_chat_template(tokenizer: PreTrainedTokenizerBase) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))
