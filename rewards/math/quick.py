"""Cheap answer comparison in plain Python: normalization, equal strings, exact numbers, clock times.

Linear in the input and free of sympy, so `rewards.math.reward` runs it in the calling process and sends only
the pairs it cannot decide to the symbolic checker (`rewards.math.equivalence`), saving a round trip to a
worker process for most answers (integers, fractions, decimals, exact matches).

Normalization rewrites what Math-Verify misreads into what it reads right: a plain-text mixed number
``4 4/9`` becomes ``4\\frac{4}{9}``, ``\\sqrt[3]8`` gets its braces, ``1.5e-3`` becomes
``1.5\\times10^{-3}``, and inside a trigonometric function ``90^\\circ`` becomes ``\\frac{90\\pi}{180}``.
A unit after a number is set aside against the gold's unit (`rewards.math.units`).

Commas in numbers: a comma before exactly three digits (``10,455``, ``1{,}000``) separates thousands.
Any other comma between digits (``1,22``, ``1000,99``, ``3{,}5``) is a decimal comma or a list of two
numbers, and the other side decides: against one number it is a decimal comma (``1,22`` = ``1.22``, not
``22``), against a list it separates elements (``1,22`` = ``\\{1, 22\\}``).
"""

from __future__ import annotations

import re
from fractions import Fraction

from rewards.math.extract import top_level_parts
from rewards.math.units import compare_units

#: Longer answers skip the symbolic step (string comparison only): no real answer is this long, and the
#: LaTeX parser's regexes are not worth running on 100 KB of junk.
MAX_SYMBOLIC_CHARS = 1000

_SPACE_SEPARATOR = re.compile(r"(?<=\d)(?:\\[,!;: ]|~|\{,\}|\\text\{\s*\})(?=\d{3}(?!\d))")
_SPACED_NUMBER = re.compile(r"[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_INTEGER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.0*)?")
_TEXT_NUMBER = re.compile(r"\\text\{\s*(?P<inner>[+-]?\d[^{}]*)\}")
_MIXED_NUMBER = re.compile(r"(?P<sign>-?)(?P<whole>\d+)\s+(?P<numerator>\d+)\s*/\s*(?P<denominator>\d+)")
_ROOT_WITHOUT_BRACES = re.compile(
    r"\\sqrt\s*\[(?P<index>[^\[\]{}]+)\]\s*(?P<radicand>\d+(?:\.\d+)?|\\[A-Za-z]+|[A-Za-z])"
)
_E_NOTATION = re.compile(r"(?P<mantissa>[+-]?\d+(?:\.\d+)?)\s*[eE]\s*(?P<exponent>[+-]?\d+)")
_CDOT_POWER_OF_TEN = re.compile(r"\\cdot\s*(?=10\s*\^)")
_TRIG = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)(?![A-Za-z])")
_DEGREES = re.compile(r"(?P<value>\d+(?:\.\d+)?)\s*(?:\^\s*(?:\{\s*\\circ\s*\}|\\circ)|°)")
_DEGREE_SIGN = re.compile(r"(?<=\d)\s*°")
_CLOCK = re.compile(
    r"(?P<hour>\d{1,2}):(?P<minute>[0-5]\d)(?::(?P<second>[0-5]\d))?\s*(?:(?P<half>[ap])\.?\s*m\.?)?", re.I
)
_DECIMAL = re.compile(
    r"(?P<mantissa>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+-]?\.\d+)"
    r"(?:\s*\\times\s*10\s*\^\s*(?:\{(?P<braced>[+-]?\d{1,3})\}|(?P<bare>\d)))?"
)
_FRACTION = re.compile(
    r"(?P<sign>-?)(?:(?P<whole>\d+)?\s*\\[dt]?frac\s*(?:\{\s*(?P<numerator>\d+)\s*\}\s*\{\s*(?P<denominator>\d+)\s*\}"
    r"|(?P<numerator_digit>\d)(?P<denominator_digit>\d))|(?P<numerator_plain>\d+)\s*/\s*(?P<denominator_plain>\d+))"
)
# Digits, a comma (or LaTeX's {,}), then other than three digits: not a thousands separator. The whole part
# may group thousands with dots or spaces (1.000,99, 1 000,99).
_DECIMAL_COMMA = re.compile(
    r"(?P<sign>[+-]?)(?P<whole>\d{1,3}(?:\.\d{3})+|\d{1,3}(?: \d{3})+|\d+)(?:,|\{,\})(?P<fraction>\d{1,2}|\d{4,})"
)
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
    match = _TEXT_NUMBER.fullmatch(answer)  # "\\text{5 dollars}": its unit is read by `units`
    if match:
        answer = match.group("inner").strip()
    return _rewrite_notation(answer)


def _rewrite_notation(answer: str) -> str:
    """What Math-Verify misreads, rewritten into what it reads right (see the module's docstring)."""
    match = _MIXED_NUMBER.fullmatch(answer)
    if match and int(match.group("numerator")) < int(match.group("denominator")):
        answer = f"{match['sign']}{match['whole']}\\frac{{{match['numerator']}}}{{{match['denominator']}}}"
    match = _E_NOTATION.fullmatch(answer)
    if match:
        answer = f"{match['mantissa']}\\times10^{{{int(match['exponent'])}}}"
    if "\\sqrt" in answer:
        answer = _ROOT_WITHOUT_BRACES.sub(lambda m: f"\\sqrt[{m['index'].strip()}]{{{m['radicand']}}}", answer)
    if "\\cdot" in answer:
        answer = _CDOT_POWER_OF_TEN.sub(lambda _: "\\times ", answer)
    if "°" in answer and not _TRIG.search(answer):
        answer = _DEGREE_SIGN.sub(lambda _: "^\\circ", answer)  # written as LaTeX, Math-Verify reads it as a unit
    if ("circ" in answer or "°" in answer) and _TRIG.search(answer):
        answer = _DEGREES.sub(lambda m: f"\\frac{{{m['value']}\\pi}}{{180}}", answer)
    return answer


def exact_number(answer: str) -> tuple[Fraction, bool] | None:
    """(value, written as a decimal) for an integer, decimal, ``a\\times10^{b}``, fraction or mixed number."""
    if len(answer) > 100:
        return None
    match = _DECIMAL.fullmatch(answer)
    if match:
        mantissa = match["mantissa"].replace(",", "")
        exponent = match["braced"] or match["bare"]
        value = Fraction(mantissa) * (Fraction(10) ** int(exponent) if exponent else 1)
        return value, "." in mantissa
    match = _FRACTION.fullmatch(answer)
    if match:
        numerator = match["numerator"] or match["numerator_digit"] or match["numerator_plain"]
        denominator = int(match["denominator"] or match["denominator_digit"] or match["denominator_plain"])
        if denominator == 0 or (match["whole"] and int(numerator) >= denominator):
            return None  # 2\\frac{5}{3} is not how anyone writes a mixed number: leave it to the parser
        value = int(match["whole"] or 0) + Fraction(int(numerator), denominator)
        return (-value if match["sign"] else value), False
    return None


def decimal_comma(answer: str) -> str | None:
    """The decimal-comma reading of a number whose comma cannot separate thousands: ``1,22`` -> ``1.22``,
    ``1.000,99`` and ``1 000,99`` -> ``1000.99``, ``3{,}5`` -> ``3.5``; None for anything else."""
    match = _DECIMAL_COMMA.fullmatch(answer) if len(answer) <= 100 else None
    if match is None:
        return None
    whole = match["whole"].replace(".", "").replace(" ", "")
    return f"{match['sign']}{whole}.{match['fraction']}"


def _numbers_agree(a: Fraction, b: Fraction) -> bool:
    """Convention for a decimal against another number: equal rounded to 6 decimal places, and within a
    relative 1e-5 (so ``0.333333`` = 1/3, while ``1.5e-7`` != ``2e-7`` though both round to 0.000000)."""
    if a == b:
        return True
    if round(a, 6) != round(b, 6):
        return False
    return abs(a - b) <= Fraction(1, 100_000) * max(abs(a), abs(b))


def clock_seconds(answer: str) -> int | None:
    """Seconds since midnight for ``20:34``, ``20:34:00``, ``8:34 pm``; None for anything else."""
    match = _CLOCK.fullmatch(answer)
    if not match:
        return None
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
    half = (match["half"] or "").lower()
    if (half and not 1 <= hour <= 12) or hour > 24:
        return None
    if half:
        hour = hour % 12 + (12 if half == "p" else 0)
    return (hour * 60 + minute) * 60 + second


def _as_integer(answer: str) -> int | None:
    if len(answer) > 100 or not _INTEGER.fullmatch(answer):
        return None
    return int(answer.split(".")[0].replace(",", ""))


_INFINITY = re.compile(r"(?P<sign>[+-]?)\s*\\infty")
_GROUP = re.compile(r"(?P<left>[\[(])(?P<inside>[^\[\]()]*)(?P<right>[\])])")
_SIZING = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])")
_MEMBER_OF = re.compile(r"[A-Za-z]\s*\\in\s*(?=[\[(])")


def _scalar(text: str) -> tuple | None:
    """A hashable exact value for a number or ±infinity; None for anything else or a decimal (tolerance)."""
    text = text.strip()
    match = _INFINITY.fullmatch(text)
    if match:
        return ("infinity", match["sign"] == "-")
    number = exact_number(text)
    if number is None or number[1]:
        return None
    return ("number", number[0])


def _element(text: str) -> tuple | None:
    """A number, or a bracketed group of numbers (interval or tuple: brackets and order count)."""
    match = _GROUP.fullmatch(text.strip())
    if match is None:
        return _scalar(text)
    ends = [_scalar(part) for part in match["inside"].split(",")]
    if len(ends) < 2 or None in ends:
        return None
    return ("group", match["left"], tuple(ends), match["right"])


def _elements(answer: str) -> list[tuple] | None:
    """An answer made only of exact numbers and groups of them, as a list; None otherwise."""
    if len(answer) > 300 or not any(char in answer for char in "([,"):
        return None
    answer = _MEMBER_OF.sub("", _SIZING.sub("", answer))
    elements = [_element(part) for part in top_level_parts(answer)]
    return None if not elements or None in elements else elements


def _structured_verdict(pred: str, gold: str) -> bool | None:
    """Intervals, tuples and lists of exact numbers, decided without the parser: a list is a set of
    answers (any order), a bracketed group keeps its order and its brackets."""
    pred_elements, gold_elements = _elements(pred), _elements(gold)
    if pred_elements is None or gold_elements is None:
        return None
    if len(pred_elements) == 1 and len(gold_elements) == 1:
        pred_element, gold_element = pred_elements[0], gold_elements[0]
        if pred_element[0] != "group" or gold_element[0] != "group":
            return None  # a number against a group: tuple of one? leave it to the parser
        return pred_element == gold_element
    if len(pred_elements) == 1 or len(gold_elements) == 1:
        return None  # one group against a list: a tuple or a set? the parser's job
    if any(element[0] == "group" and element[1] + element[3] != "()" for element in pred_elements + gold_elements):
        return None  # several intervals: a union, the parser's job
    return set(pred_elements) == set(gold_elements)


def quick_verdict(pred: str, gold: str) -> bool | None:
    """True/False when cheap rules decide (both already `clean`); None when the symbolic check must."""
    if pred == gold:
        return bool(pred)
    if not pred or not gold or len(pred) > MAX_SYMBOLIC_CHARS or len(gold) > MAX_SYMBOLIC_CHARS:
        return False
    for one, other in ((pred, gold), (gold, pred)):
        reading = decimal_comma(one)
        if reading is not None and exact_number(other) is not None:  # against one number: a decimal comma
            return quick_verdict(reading, other)
    pred_int, gold_int = _as_integer(pred), _as_integer(gold)
    if pred_int is not None and gold_int is not None:
        return pred_int == gold_int
    pred_number, gold_number = exact_number(pred), exact_number(gold)
    if pred_number is not None and gold_number is not None:
        if pred_number[1] or gold_number[1]:
            return _numbers_agree(pred_number[0], gold_number[0])
        return pred_number[0] == gold_number[0]
    pred_time, gold_time = clock_seconds(pred), clock_seconds(gold)
    if pred_time is not None and gold_time is not None:
        return pred_time == gold_time
    return _structured_verdict(pred, gold)


def comparable(pred: str, gold: str) -> tuple[str, str] | None:
    """Both answers cleaned, their units set aside (`rewards.math.units`); None when the units differ."""
    return compare_units(clean(pred), clean(gold))


def decide(pred: str, gold: str) -> bool | None:
    """`quick_verdict` on the `comparable` answers; False when their units differ."""
    pair = comparable(pred, gold)
    return False if pair is None else quick_verdict(*pair)
