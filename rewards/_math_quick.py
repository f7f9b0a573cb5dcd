"""Cheap answer comparison in plain Python: cosmetic normalization, equal strings, integers.

Linear in the input and free of sympy, so `rewards.math` runs it in the calling process and sends only
the pairs it cannot decide to the symbolic checker (`rewards._math_equiv`), saving a round trip to a
worker process for most answers (integers, exact matches).
"""

from __future__ import annotations

import re

#: Longer answers skip the symbolic step (string comparison only): no real answer is this long, and the
#: LaTeX parser's regexes are not worth running on 100 KB of junk.
MAX_SYMBOLIC_CHARS = 1000

_SPACE_SEPARATOR = re.compile(r"(?<=\d)(?:\\[,!;: ]|~|\{,\}|\\text\{\s*\})(?=\d{3}(?!\d))")
_SPACED_NUMBER = re.compile(r"[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_INTEGER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.0*)?")
_NUMBER_THEN_WORDS = re.compile(r"(?P<number>[+-]?\d[\d,]*(?:\.\d+)?)\s+(?P<words>[A-Za-z][A-Za-z. ]*)")
_LIST_WORDS = {"and", "or"}
_TEXT_NUMBER = re.compile(r"\\text\{\s*(?P<inner>[+-]?\d[^{}]*)\}")
_EDGE_SPACING = re.compile(r"^(?:\s|~|\\[,;:! ]|\\q?quad\b)+|(?:\s|~|\\[,;:! ]|\\q?quad\b)+$")


def _unwrap_group(answer: str, layers: int = 3) -> str:
    """``{5}`` -> ``5``: braces around the whole answer only group (``\\{...\\}`` is a set, kept)."""
    for _ in range(layers):
        if not (len(answer) >= 2 and answer[0] == "{" and answer[-1] == "}"):
            break
        depth = 0
        for i, char in enumerate(answer):
            if char == "{" and (i == 0 or answer[i - 1] != "\\"):
                depth += 1
            elif char == "}" and answer[i - 1] != "\\":
                depth -= 1
                if depth == 0 and i < len(answer) - 1:
                    return answer  # the first group closes early: {a}{b}
        answer = answer[1:-1].strip()
    return answer


def clean(answer: str) -> str:
    """Cosmetic normalization that never changes the value."""
    if len(answer) > MAX_SYMBOLIC_CHARS:  # compared as a plain string only; keep the work linear
        return answer.strip()
    answer = _EDGE_SPACING.sub("", answer)
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if len(answer) >= len(left) + len(right) and answer.startswith(left) and answer.endswith(right):
            answer = answer[len(left) : len(answer) - len(right)].strip()
            break
    answer = _unwrap_group(_EDGE_SPACING.sub("", answer))
    answer = answer.replace("\u2212", "-").replace("\\mbox{", "\\text{")  # Unicode minus; \mbox is \text
    answer = _SPACE_SEPARATOR.sub("", answer)
    if _SPACED_NUMBER.fullmatch(answer):  # "1 000 000"; only a whole answer, "1 2" may be a list
        answer = answer.replace(" ", "")
    if answer.endswith(".") and not answer.endswith(".."):
        answer = answer[:-1].rstrip()
    # "12 cm", "\text{5 dollars}": a unit in plain words (units after a number in LaTeX are Math-Verify's job).
    match = _TEXT_NUMBER.fullmatch(answer)
    if match:
        answer = match.group("inner").strip()
    match = _NUMBER_THEN_WORDS.fullmatch(answer)
    if match and not _LIST_WORDS & set(match.group("words").lower().split()):
        answer = match.group("number")
    return answer


def _as_integer(answer: str) -> int | None:
    if len(answer) > 100 or not _INTEGER.fullmatch(answer):
        return None
    return int(answer.split(".")[0].replace(",", ""))


def quick_verdict(pred: str, gold: str) -> bool | None:
    """True/False when cheap rules decide (both already `clean`); None when the symbolic check must."""
    if pred == gold:
        return bool(pred)
    if not pred or not gold or len(pred) > MAX_SYMBOLIC_CHARS or len(gold) > MAX_SYMBOLIC_CHARS:
        return False
    pred_int, gold_int = _as_integer(pred), _as_integer(gold)
    if pred_int is not None and gold_int is not None:
        return pred_int == gold_int
    return None


def decide(pred: str, gold: str) -> bool | None:
    """`quick_verdict` on the cleaned answers."""
    return quick_verdict(clean(pred), clean(gold))
