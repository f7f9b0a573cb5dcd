"""Units after a number (``10 cm``, ``10\\text{ cm}``, ``15\\mbox{ cm}^2``, ``8 hours``, ``10weeks``,
``90^\\circ``): read apart from the number, and compared against the gold's.

The rule (`compare_units`): when the answer and the gold both state a unit, it must be the same unit
(``cm`` = ``centimeters``; ``cm^2`` != ``cm``; ``10 m`` does not answer ``10 cm``); when only one of them
states a unit, the numbers decide (``90`` answers ``90^\\circ``, ``8 hours`` answers ``8``: MATH's golds and
answers often leave the unit out). A glued abbreviation (``10cm``, ``5kg``) reads as a product of
variables, like ``3ab``, unless the gold states that very unit: ``10cm`` does not answer ``10``, but does
answer ``10\\text{ cm}``. Glued words of three letters or more (``10weeks``, ``5hrs``) are units.

Pure string work, like `rewards.math.quick`, which calls it for each pair before comparing values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Singular names (and symbols) -> one spelling per unit.
_SYNONYMS = {
    **dict.fromkeys(("mm", "millimeter", "millimetre"), "mm"),
    **dict.fromkeys(("cm", "centimeter", "centimetre"), "cm"),
    **dict.fromkeys(("m", "meter", "metre"), "m"),
    **dict.fromkeys(("km", "kilometer", "kilometre"), "km"),
    **dict.fromkeys(("in", "inch"), "inch"),
    **dict.fromkeys(("ft", "foot", "feet"), "foot"),
    **dict.fromkeys(("yd", "yard"), "yard"),
    **dict.fromkeys(("mi", "mile"), "mile"),
    **dict.fromkeys(("mg", "milligram"), "mg"),
    **dict.fromkeys(("g", "gram"), "g"),
    **dict.fromkeys(("kg", "kilogram"), "kg"),
    **dict.fromkeys(("lb", "lbs", "pound"), "pound"),
    **dict.fromkeys(("oz", "ounce"), "ounce"),
    **dict.fromkeys(("l", "liter", "litre"), "l"),
    **dict.fromkeys(("ml", "milliliter", "millilitre"), "ml"),
    **dict.fromkeys(("gal", "gallon"), "gallon"),
    **dict.fromkeys(("s", "sec", "second"), "second"),
    **dict.fromkeys(("min", "minute"), "minute"),
    **dict.fromkeys(("h", "hr", "hour"), "hour"),
    **dict.fromkeys(("yr", "year"), "year"),
    **dict.fromkeys(("deg", "degree", "circ"), "degree"),
    **dict.fromkeys(("person", "people"), "person"),
    **{name: name for name in ("day", "week", "month", "dollar", "cent", "euro", "ton", "mph", "kph", "unit")},
}
#: Symbols a spaced answer may use on their own (``5 m``); any other single letter after a number is algebra.
_ONE_LETTER = {"m", "g", "s", "h", "l"}
#: A number with its unit is short; longer answers are not searched for one (the patterns below would take
#: time quadratic in the length on prose).
MAX_CHARS = 100
_POWERS = {"square": "2", "sq": "2", "cubic": "3"}
_LIST_WORDS = {"and", "or", "to"}

_NUMERIC_COMMANDS = re.compile(r"\\(?:[dt]?frac|sqrt|pi|cdot|times)(?![A-Za-z])")
_NUMERIC_TEXT = re.compile(r"[\d\s.,{}()\[\]+\-*/^]*\d[\d\s.,{}()\[\]+\-*/^]*")
_SPACING = r"(?:\s|\\[,;:! ]|~)*"
_WORDS = r"[A-Za-z][A-Za-z.]*(?:\s+[A-Za-z][A-Za-z.]*)*"
_POWER = r"(?:\s*\^\s*(?:\{\s*(?P<power>[23])\s*\}|(?P<bare_power>[23])))?"
_IN_TEXT = re.compile(
    rf"(?P<value>.+?){_SPACING}\\(?:text|mbox|mathrm)\{{\s*(?P<unit>{_WORDS})\s*"
    rf"(?:\^\s*\{{?\s*(?P<inner_power>[23])\s*\}}?)?\s*\}}{_POWER}"
)
_SPACED = re.compile(rf"(?P<value>.+?)(?:\s+|\\[,;! ]|~)+(?P<unit>{_WORDS}){_POWER}")
_GLUED = re.compile(rf"(?P<value>[+-]?\d[\d,]*(?:\.\d+)?)(?P<unit>[A-Za-z]{{2,}}){_POWER}")
_DEGREES = re.compile(r"(?P<value>.+?)\s*(?:\^\s*(?:\{\s*\\circ\s*\}|\\circ)|°)")


@dataclass(frozen=True)
class Measured:
    """An answer split into its value and its unit (None where it states none)."""

    value: str
    unit: str | None = None
    #: the unit is an abbreviation glued to the number (``10cm``), which may also be a product of variables
    glued: bool = False


def _numeric(value: str) -> bool:
    """A value made of digits, fractions, roots and pi only: what a unit may follow."""
    return bool(_NUMERIC_TEXT.fullmatch(_NUMERIC_COMMANDS.sub(" ", value).strip()))


def _singular(word: str) -> str:
    if word in _SYNONYMS:
        return _SYNONYMS[word]
    for ending in ("es", "s"):
        if word.endswith(ending) and word[: -len(ending)] in _SYNONYMS:
            return _SYNONYMS[word[: -len(ending)]]
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def canonical_unit(words: str, power: str | None = None) -> str | None:
    """One spelling per unit: ``centimeters`` -> ``cm``, ``square feet`` -> ``foot^2``, ``sq. units`` ->
    ``unit^2``; None when the words are a list (``and``, ``or``) rather than a unit."""
    parts = words.lower().replace(".", " ").split()
    if not parts or _LIST_WORDS & set(parts):
        return None
    if parts[0] in _POWERS and len(parts) > 1:
        power = power or _POWERS[parts[0]]
        parts = parts[1:]
    name = " ".join(_singular(part) for part in parts)
    return f"{name}^{power}" if power else name


def _measured(match: re.Match, unit: str | None, glued: bool = False) -> Measured | None:
    value = match["value"].strip()
    if unit is None or not value or not _numeric(value):
        return None
    return Measured(value, unit, glued)


def split_unit(answer: str) -> Measured:
    """The value and the unit of an answer (already `clean`): ``10\\text{ cm}^2`` -> (``10``, ``cm^2``)."""
    answer = answer.strip()
    if len(answer) > MAX_CHARS:
        found = None
    elif match := _DEGREES.fullmatch(answer):
        found = _measured(match, "degree")
    elif match := _IN_TEXT.fullmatch(answer):
        groups = match.groupdict()
        found = _measured(match, canonical_unit(match["unit"], groups.get("inner_power") or _power(groups)))
    elif match := _GLUED.fullmatch(answer):
        word = match["unit"].lower()
        known = word in _SYNONYMS or _singular(word) in _SYNONYMS.values()
        found = _measured(match, canonical_unit(word, _power(match.groupdict())), len(word) <= 2) if known else None
    elif match := _SPACED.fullmatch(answer):
        word = match["unit"]
        one_letter = len(word) == 1 and word.lower() not in _ONE_LETTER
        found = None if one_letter else _measured(match, canonical_unit(word, _power(match.groupdict())))
    else:
        found = None
    return found or Measured(answer)


def _power(groups: dict[str, str | None]) -> str | None:
    return groups.get("power") or groups.get("bare_power")


def _as_product(answer: str) -> str:
    """``10cm`` -> ``10\\,c\\,m``: spelled so that the symbolic checker does not strip it as a unit."""
    match = _GLUED.fullmatch(answer)
    if match is None:
        return answer
    return match["value"] + "".join(f"\\,{letter}" for letter in match["unit"]) + answer[match.end("unit") :]


def compare_units(pred: str, gold: str) -> tuple[str, str] | None:
    """The two values to compare, units set aside, or None when the units alone make them differ."""
    gold_side, pred_side = split_unit(gold), split_unit(pred)
    if pred_side.glued and pred_side.unit != gold_side.unit:
        pred_side = Measured(_as_product(pred))  # 10cm against a gold without cm: a product of variables
    if pred_side.unit is not None and gold_side.unit is not None and pred_side.unit != gold_side.unit:
        return None
    return pred_side.value, gold_side.value
