"""Reasoning-step boundaries for the `step` unit: which completion tokens end a step."""

from __future__ import annotations

from collections.abc import Sequence


def step_ends(token_texts: Sequence[str], separator: str = "\n\n") -> list[int]:
    """0-based positions of the tokens that end a step.

    Steps are split after each `separator`; the step ends at the token holding the separator's last
    character. The last step ends at the last token. An empty completion has no steps.
    """
    if not token_texts:
        return []
    text_end = []  # character offset just past each token
    offset = 0
    for token in token_texts:
        offset += len(token)
        text_end.append(offset)
    text = "".join(token_texts)
    ends: list[int] = []
    token = 0
    start = text.find(separator)
    while start != -1:
        last_char = start + len(separator) - 1
        while text_end[token] <= last_char:
            token += 1
        if not ends or ends[-1] != token:
            ends.append(token)
        start = text.find(separator, start + len(separator))
    last = len(token_texts) - 1
    if not ends or ends[-1] != last:
        ends.append(last)
    return ends
