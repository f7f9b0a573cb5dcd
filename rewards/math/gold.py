"""Reading the gold answer of a dataset row: what a worked solution boxes, what follows GSM8K's ``####``.

Pure string work, like the completion side (`rewards.math.extract`); equal values in two forms are told
apart by the quick rules of `rewards.math.quick`.
"""

from __future__ import annotations

import re

from rewards.math.extract import box_spans, last_boxed
from rewards.math.quick import decide

# Where a sentence ends inside a solution: boxes across it are separate statements.
_SENTENCE_BREAK = re.compile(r"\.(?:\s|\$)|\n")
GSM8K_MARK = "####"


def after_hashes(text: str) -> str | None:
    """The final answer of a GSM8K solution (a worked solution, then ``#### 42``), or None without the mark."""
    if GSM8K_MARK not in text:
        return None
    return text.rsplit(GSM8K_MARK, 1)[1].strip()


def solution_answer(solution: str) -> str | None:
    """The answer a worked solution boxes. None without a box.

    Its last box, with the boxes just before it in the same sentence (``$x=\\boxed{2}$ or
    $x=\\boxed{3}$.``): several distinct values there state a list, joined by ", ". A value boxed again
    in another form (``\\boxed{15\\frac{39}{40}}, or \\boxed{\\frac{639}{40}}``) or in an earlier sentence
    (a restatement) is one answer: the last box.
    """
    boxes = box_spans(solution)
    if not boxes:
        return last_boxed(solution)
    group = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        gap = solution[box[1] : group[0][0]]
        if len(gap) > 80 or _SENTENCE_BREAK.search(gap):
            break
        group.insert(0, box)
    values: list[str] = []
    for _, _, content in group:
        values = [value for value in values if decide(value, content) is not True]  # a later form wins
        values.append(content)
    return values[0] if len(values) == 1 else ", ".join(values)
