"""The `format` reward: a fixed score when a completion's text matches a regular expression.

Format rewards are how RL recipes teach an output shape before the answers are right (open-r1's
`format_reward`, trl's `think_format_reward`): give a small score for the shape beside the reward that
grades the answer, and a policy that samples the shape now and then has something to amplify. The
quickstart uses it for a box, `\\boxed{...}`, that the untrained model writes about once in 16 samples.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Literal

from rewards.base import Reward, RewardParams, as_text


class FormatReward(Reward):
    """`score` where the completion's text matches `pattern` (Python `re`), `otherwise` elsewhere."""

    description = "A fixed score for completions whose text matches a regular expression (an output format)."

    @dataclasses.dataclass(frozen=True)
    class Params(RewardParams):
        #: Python regular expression, e.g. '\\boxed\{[^{}]*\}' for a closed box with no braces inside.
        pattern: str = ""
        #: "search": the pattern anywhere in the text; "full": the whole text (surrounding spaces ignored).
        match: Literal["search", "full"] = "search"
        #: Reward for a completion that matches.
        score: float = 1.0
        #: Reward for a completion that does not.
        otherwise: float = 0.0

        def problems(self) -> list[str]:
            if not self.pattern:
                return ["parameter 'pattern' is required: a regular expression, e.g. '\\\\boxed\\{[^{}]*\\}'"]
            try:
                re.compile(self.pattern)
            except re.error as error:
                return [f"parameter 'pattern' is not a regular expression: {error} in the pattern {self.pattern}"]
            return []

    params: Params

    def __init__(self, params: Params | None = None, *, name: str | None = None):
        super().__init__(params, name=name or "format")
        self._compiled = re.compile(self.params.pattern, re.S) if self.params.pattern else None

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: list[Any]) -> list[float | None]:
        return [self._score(as_text(completion)) for completion in completions]

    def _score(self, text: str) -> float:
        if self._compiled is None:
            return self.params.otherwise
        found = self._compiled.fullmatch(text.strip()) if self.params.match == "full" else self._compiled.search(text)
        return self.params.score if found else self.params.otherwise
