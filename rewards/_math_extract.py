"""Finding the final answer in a completion: pure string work, linear in the text, no sympy.

Order: the last ``\\boxed{...}`` / ``\\fbox{...}``; then, if enabled, the fallbacks in the order given
("answer_is": "final answer is X" / "the answer is X"; "last_number": the last number in the text).
Only the text after the last ``</think>`` counts where that tag is present.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

THINK_END = "</think>"
BOX_COMMANDS = ("\\boxed", "\\fbox")
#: Where a found answer came from when no box was found and no fallback matched.
NO_ANSWER = "none"
BOXED = "boxed"

# "The final answer is $x$. I hope it is correct." / "the answer is: 42" / "Answer: 42". The answer runs
# to the end of its line; a sentence end (". " or a final ".") is cut off below.
_ANSWER_IS = re.compile(r"(?:final\s+answer|the\s+answer|\banswer)\s*(?:is\b|:)\s*:?[ \t]*", re.I)
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
# Integers with optional thousands separators, decimals, and simple fractions a/b; a sign if attached.
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|(?<![\w.])-?\.\d+")


def final_text(completion: str) -> str:
    """The part of a completion that holds the answer: after the last ``</think>`` when present."""
    cut = completion.rfind(THINK_END)
    return completion if cut < 0 else completion[cut + len(THINK_END) :]


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{}`` or ``\\fbox{}``, braces counted; an unclosed box takes the rest.

    Also accepts the brace-less form ``\\boxed 5``. Returns None when there is no box or it is empty.
    """
    start = -1
    command = ""
    for candidate in BOX_COMMANDS:
        position = _rfind_command(text, candidate)
        if position > start:
            start, command = position, candidate
    if start < 0:
        return None
    i = start + len(command)
    while i < len(text) and text[i] in " \t":
        i += 1
    if i < len(text) and text[i] == "{":
        content = _balanced(text, i)
    else:  # \boxed 5: the next run of non-space characters
        match = re.match(r"[^\s$]+", text[i:])
        content = match.group(0) if match else ""
    content = content.strip()
    return content or None


def _rfind_command(text: str, command: str) -> int:
    """Last position of a LaTeX command, skipping longer commands that share its prefix (\\fboxsep)."""
    end = len(text)
    while True:
        position = text.rfind(command, 0, end)
        if position < 0:
            return -1
        after = position + len(command)
        if after >= len(text) or not text[after].isalpha():
            return position
        end = position


def _balanced(text: str, open_brace: int) -> str:
    """Text inside the braces opening at `open_brace`, ignoring escaped ``\\{`` / ``\\}``; the rest if unclosed."""
    depth = 0
    i = open_brace
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[open_brace + 1 : i]
        i += 1
    return text[open_brace + 1 :]


def answer_is(text: str) -> str | None:
    """The X of the last "final answer is X" / "the answer is X" / "Answer: X", up to its sentence end."""
    last = None
    for last in _ANSWER_IS.finditer(text):  # noqa: B007 - only the final phrase counts
        pass
    if last is None:
        return None
    line_end = text.find("\n", last.end())
    answer = text[last.end() : line_end if line_end >= 0 else len(text)]
    end = _SENTENCE_END.search(answer)
    if end:
        answer = answer[: end.start()]
    answer = answer.strip().strip("*").strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if answer.startswith(left) and answer.endswith(right) and len(answer) >= len(left) + len(right):
            answer = answer[len(left) : len(answer) - len(right)].strip()
            break
    return answer or None


def last_number(text: str) -> str | None:
    """The last number in the text (``-1,234.5``, ``.5``, ``3/4``)."""
    last = None
    for last in _NUMBER.finditer(text):  # noqa: B007 - only the final match is wanted
        pass
    return last.group(0) if last else None


FALLBACKS: dict[str, Callable[[str], str | None]] = {"answer_is": answer_is, "last_number": last_number}


def extract_answer(completion: str, fallbacks: Sequence[str] = ()) -> tuple[str | None, str]:
    """(answer, source): source is "boxed", the name of the fallback that found it, or "none"."""
    text = final_text(completion)
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed, BOXED
    for name in fallbacks:
        found = FALLBACKS[name](text)
        if found is not None:
            return found, name
    return None, NO_ANSWER
