"""Reasoning-step boundaries for the `step` unit: which completion tokens end a step."""

from __future__ import annotations

from collections.abc import Sequence


def step_ends(token_texts: Sequence[str], separator: str = "\n\n", counted: Sequence[bool] | None = None) -> list[int]:
    """0-based positions of the tokens that end a step.

    Steps are split after each `separator`; the step ends at the token holding the separator's last
    character. The last step ends at the last token. An empty completion has no steps.

    `counted` marks the model's own tokens (trl's `tool_mask`: 0 on a tool's result, which the model did
    not write). The text of the others is no part of any step and no step ends on one: the model's last
    token before a tool result ends a step (the model hands over there), and the last step ends at the
    model's last token.
    """
    counted = [True] * len(token_texts) if counted is None else [bool(c) for c in counted]
    if len(counted) != len(token_texts):
        raise ValueError(f"counted has {len(counted)} entries for {len(token_texts)} tokens")
    own = [i for i, keep in enumerate(counted) if keep]
    if not own:
        return []
    texts = [text if keep else "" for text, keep in zip(token_texts, counted, strict=True)]
    text_end = []  # character offset just past each token
    offset = 0
    for token in texts:
        offset += len(token)
        text_end.append(offset)
    text = "".join(texts)
    ends = {i for i in own[:-1] if not counted[i + 1]}  # before a tool result
    token = 0
    start = text.find(separator)
    while start != -1:
        last_char = start + len(separator) - 1
        while text_end[token] <= last_char:  # an uncounted token holds no text: the end lands on a counted one
            token += 1
        ends.add(token)
        start = text.find(separator, start + len(separator))
    ends.add(own[-1])
    return sorted(ends)
