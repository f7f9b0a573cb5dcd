"""Is an extracted answer equivalent to the gold answer? Normalize, compare cheaply, then symbolically.

1-2. `rewards.math.quick`: clean both strings (thousands separators such as ``1\\,000``, surrounding
   ``$``), set units aside (``5 dollars``; two different units are not equal: `rewards.math.units`);
   equal strings are equal; two integers (``025``, ``1,000``, ``27.0``) compare as integers, both ways.
3. Intervals whose brackets differ, or whose finite ends differ numerically (evaluated with enough
   precision to separate ``1`` from ``2^{1/2^{1000}}``), are not equal without Math-Verify, whose
   symbolic comparison can run for minutes on such ends.
4. Everything else goes to Math-Verify (LaTeX -> sympy; string, numeric, then symbolic comparison;
   sets, intervals, matrices, relations). Its own SIGALRM timeouts are off: the caller bounds the time,
   in a worker process or under a timer (see `rewards.math.pool`).

A symbol ``i`` is the imaginary unit: ``i(2-i)`` = ``1+2i``.

Importing this module imports sympy and Math-Verify (about a second); `rewards.math.reward` imports it lazily.
"""

from __future__ import annotations

import functools
import logging

import sympy
from math_verify import parse, verify
from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig

from rewards.math.quick import comparable, quick_verdict

# Math-Verify warns once that its own timeouts are disabled: they are, on purpose (see above).
logging.getLogger("math_verify").setLevel(logging.ERROR)

_EXTRACTION = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())


@functools.lru_cache(maxsize=4096)
def _parse(answer: str) -> tuple:
    # Wrapping in \boxed{} makes Math-Verify take the whole answer and apply its answer normalization
    # (units, \text, degrees, percent) instead of searching a sentence for a number.
    parsed = parse("\\boxed{" + answer + "}", extraction_config=_EXTRACTION, parsing_timeout=None)
    return tuple(_imaginary_unit(item) for item in parsed)


def _imaginary_unit(item):
    if isinstance(item, sympy.Basic):
        # The parser's symbols carry assumptions, so match by name.
        units = {symbol: sympy.I for symbol in item.free_symbols if getattr(symbol, "name", None) == "i"}
        if units:
            return item.xreplace(units)
    return item


def _intervals_differ(gold, pred) -> bool:
    """True when two intervals surely differ: other brackets, or finite ends apart numerically."""
    if not (isinstance(gold, sympy.Interval) and isinstance(pred, sympy.Interval)):
        return False
    if gold.left_open != pred.left_open or gold.right_open != pred.right_open:
        return True
    for gold_end, pred_end in ((gold.start, pred.start), (gold.end, pred.end)):
        if gold_end.free_symbols or pred_end.free_symbols or gold_end.has(sympy.Float) or pred_end.has(sympy.Float):
            continue
        if not (gold_end.is_finite and pred_end.is_finite):
            continue
        # mpmath raises the working precision until the difference has 15 correct digits (or gives up).
        difference = (gold_end - pred_end).evalf(15, maxn=4000)
        if difference.is_Number and difference != 0 and getattr(difference, "_prec", 0) > 1:
            return True
    return False


def equivalent(pred: str, gold: str) -> bool:
    """Whether `pred` states the same answer as `gold`. Can be slow on pathological input: bound it."""
    pair = comparable(pred, gold)
    if pair is None:
        return False  # both state a unit, and not the same one
    pred, gold = pair
    decided = quick_verdict(pred, gold)
    if decided is not None:
        return decided
    gold_parsed, pred_parsed = _parse(gold), _parse(pred)
    if not gold_parsed or not pred_parsed:
        return False
    if _intervals_differ(gold_parsed[0], pred_parsed[0]):
        return False
    # allow_set_relation_comp: "x < 3" answers the interval "(-\infty, 3)" (ends still matter).
    return verify(
        list(gold_parsed), list(pred_parsed), timeout_seconds=None, allow_set_relation_comp=True, raise_on_error=False
    )


#: One pair per kind of comparison: the first use of each loads parts of sympy (up to 0.2 s apiece).
_WARM_UP = (
    ("\\frac{1}{2}", "0.5"),
    ("(1,2]", "[1,2)"),
    ("x<3", "(-\\infty,3)"),
    ("x=\\pm 2", "\\{2,-2\\}"),
    ("2\\sqrt2", "\\sqrt8"),
    ("\\frac{x^2-1}{x-1}", "x+1"),
    ("2\\sin x\\cos x", "\\sin 2x"),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{bmatrix}1&2\\\\3&5\\end{bmatrix}"),
    ("\\log_2 8", "3"),
    ("y=2x+1", "2x+1"),
    ("3\\pi", "9.42"),
    ("50\\%", "0.5"),
    ("i(2-i)", "1+2i"),
    ("\\sin(\\frac{90\\pi}{180}-x)", "\\cos x"),
    ("[2^{\\frac{1}{2^{10}}},\\infty)", "[1,\\infty)"),
)


def warm_up() -> None:
    """Load the parts of sympy each kind of check needs before the first real one (about 1 s)."""
    for pred, gold in _WARM_UP:
        equivalent(pred, gold)
    _parse.cache_clear()
