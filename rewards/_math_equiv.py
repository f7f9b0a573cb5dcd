"""Is an extracted answer equivalent to the gold answer? Normalize, compare cheaply, then symbolically.

1. Clean both strings (thousands separators such as ``1\\,000``, surrounding ``$``, trailing words after
   a number such as ``5 dollars``).
2. Equal strings are equal; two integers (``025``, ``1,000``, ``27.0``) compare as integers, both ways.
3. Everything else goes to Math-Verify (LaTeX -> sympy; string, numeric, then symbolic comparison;
   sets, intervals, matrices, relations). Its own SIGALRM timeouts are off: the caller bounds the time,
   in a worker process or under a timer (see `rewards._math_pool`).

Importing this module imports sympy and Math-Verify (about a second); `rewards.math` imports it lazily.
"""

from __future__ import annotations

import functools
import logging
import re

from math_verify import parse, verify
from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig

# Math-Verify warns once that its own timeouts are disabled: they are, on purpose (see above).
logging.getLogger("math_verify").setLevel(logging.ERROR)

#: Longer answers skip the symbolic step (string comparison only): no real answer is this long, and the
#: LaTeX parser's regexes are not worth running on 100 KB of junk.
MAX_SYMBOLIC_CHARS = 1000

_EXTRACTION = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())
_SPACE_SEPARATOR = re.compile(r"(?<=\d)(?:\\[,!;: ]|~|\{,\}|\\text\{\s*\})(?=\d{3}(?!\d))")
_SPACED_NUMBER = re.compile(r"[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_INTEGER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.0*)?")
_NUMBER_THEN_WORDS = re.compile(r"(?P<number>[+-]?\d[\d,]*(?:\.\d+)?)\s+(?P<words>[A-Za-z][A-Za-z. ]*)")
_LIST_WORDS = {"and", "or"}
_TEXT_NUMBER = re.compile(r"\\text\{\s*(?P<inner>[+-]?\d[^{}]*)\}")


def clean(answer: str) -> str:
    """Cosmetic normalization that never changes the value."""
    answer = answer.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if len(answer) >= len(left) + len(right) and answer.startswith(left) and answer.endswith(right):
            answer = answer[len(left) : len(answer) - len(right)].strip()
            break
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
    """True/False when cheap string and integer rules decide; None when the symbolic check must."""
    if pred == gold:
        return bool(pred)
    pred_int, gold_int = _as_integer(pred), _as_integer(gold)
    if pred_int is not None and gold_int is not None:
        return pred_int == gold_int
    return None


@functools.lru_cache(maxsize=4096)
def _parse(answer: str) -> tuple:
    # Wrapping in \boxed{} makes Math-Verify take the whole answer and apply its answer normalization
    # (units, \text, degrees, percent) instead of searching a sentence for a number.
    return tuple(parse("\\boxed{" + answer + "}", extraction_config=_EXTRACTION, parsing_timeout=None))


def equivalent(pred: str, gold: str) -> bool:
    """Whether `pred` states the same answer as `gold`. Can be slow on pathological input: bound it."""
    pred, gold = clean(pred), clean(gold)
    decided = quick_verdict(pred, gold)
    if decided is not None:
        return decided
    if not pred or not gold or len(pred) > MAX_SYMBOLIC_CHARS or len(gold) > MAX_SYMBOLIC_CHARS:
        return False
    gold_parsed, pred_parsed = _parse(gold), _parse(pred)
    if not gold_parsed or not pred_parsed:
        return False
    # allow_set_relation_comp: "x < 3" answers the interval "(-\infty, 3)" (ends still matter).
    return verify(
        list(gold_parsed), list(pred_parsed), timeout_seconds=None, allow_set_relation_comp=True, raise_on_error=False
    )
