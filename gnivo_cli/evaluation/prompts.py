"""Turning a problem into the model's prompt: a user-message template inside the model's chat template."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gnivo_cli.errors import GnivoError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

PLACEHOLDER = "{problem}"
# The instruction of Qwen2.5-Math and simpleRL-reason evaluations: the answer goes in \boxed{}.
DEFAULT_TEMPLATE = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{}."


@dataclass(frozen=True)
class PromptTemplate:
    """`template` is the user message, with `{problem}` where the problem goes (other braces are kept
    as written, so LaTeX such as `\\boxed{}` needs no escaping); `system` an optional system message."""

    template: str = DEFAULT_TEMPLATE
    system: str | None = None

    def __post_init__(self) -> None:
        if PLACEHOLDER not in self.template:
            raise GnivoError(f"the prompt template must contain {PLACEHOLDER} (got {self.template!r})")

    def user_message(self, problem: str) -> str:
        return self.template.replace(PLACEHOLDER, problem)

    def messages(self, problem: str) -> list[dict[str, str]]:
        """The prompt as chat messages (system, user): what the model is asked, and what a reward receives."""
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": self.user_message(problem)})
        return messages

    def render(self, tokenizer: PreTrainedTokenizerBase, problem: str) -> str:
        """The full prompt text: the chat template when the tokenizer has one, else the plain message."""
        user = self.user_message(problem)
        if uses_chat_template(tokenizer):
            return tokenizer.apply_chat_template(self.messages(problem), tokenize=False, add_generation_prompt=True)
        return f"{self.system}\n\n{user}\n" if self.system else f"{user}\n"

    def encode(self, tokenizer: PreTrainedTokenizerBase, problem: str) -> list[int]:
        """Prompt token ids. A chat template writes its own special tokens, so none are added then."""
        text = self.render(tokenizer, problem)
        return tokenizer(text, add_special_tokens=not uses_chat_template(tokenizer))["input_ids"]


def uses_chat_template(tokenizer: PreTrainedTokenizerBase) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))
