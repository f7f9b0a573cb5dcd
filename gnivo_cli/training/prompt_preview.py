"""The prompts exactly as the model receives them: trl's own tokenization (the chat template applied), decoded
with the special tokens shown.

A run prints the first when it starts and keeps the first few in the run directory (`prompts.txt`), so a
template that renders something unintended (the answer, an unfilled brace, a doubled system message) is
seen on the first screen rather than found in the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: How many of the data's first prompts the run directory keeps.
KEPT_PROMPTS = 4


@dataclass(frozen=True)
class ReceivedPrompt:
    row: int  #: the data row it comes from, counted from 1
    text: str  #: the token ids the model receives, decoded with special tokens
    tokens: int


def received_prompts(trainer: Any, count: int = KEPT_PROMPTS) -> list[ReceivedPrompt]:
    """The first `count` prompts of the trainer's data, tokenized as trl tokenizes them for generation."""
    dataset = trainer.train_dataset
    rows = range(min(count, len(dataset)))
    prompt_ids, _, _ = trainer._tokenize_prompts([dataset[index]["prompt"] for index in rows])
    decode = trainer.processing_class.decode
    return [
        ReceivedPrompt(row=index + 1, text=decode(ids, skip_special_tokens=False), tokens=len(ids))
        for index, ids in zip(rows, prompt_ids, strict=True)
    ]


def heading(prompt: ReceivedPrompt) -> str:
    return f"data row {prompt.row}, as the model receives it ({prompt.tokens} tokens, special tokens shown)"


def prompts_file_text(prompts: list[ReceivedPrompt]) -> str:
    """prompts.txt: each prompt under a `=== heading ===` line, its text verbatim."""
    return "".join(f"=== {heading(prompt)} ===\n{prompt.text}\n" for prompt in prompts)


def show_prompt(console: Any, prompt: ReceivedPrompt) -> None:
    """One prompt in a panel, its text verbatim (no markup, no highlighting)."""
    from rich.panel import Panel
    from rich.text import Text

    console.print(Panel(Text(prompt.text), title=heading(prompt), title_align="left", border_style="dim"))
