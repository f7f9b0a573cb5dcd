"""Equivalence (`rewards.math.equivalence` after `rewards.math.quick`), category by category, both ways,
checked end to end through the reward as training and evaluation see it."""

from __future__ import annotations

import pytest

from tests.math_helpers import is_correct, warmed_up_reward

reward = pytest.fixture(scope="module")(warmed_up_reward)


# -- equivalence, category by category, equal and not equal ---------------------------------------------

EQUAL = {
    "numbers": [
        ("1000", "1,000"),
        ("1,000", "1000"),
        ("1\\,000", "1000"),
        ("1{,}000", "1000"),
        ("1 000 000", "1000000"),
        ("25", "025"),
        ("27.0", "27"),
        ("−5", "-5"),
        ("{5}", "5"),
        ("58,500\\;", "58500"),
        ("\\quad 12", "12"),
    ],
    "fractions and roots": [
        ("\\frac12", "\\frac{1}{2}"),
        ("\\dfrac{1}{2}", "\\frac12"),
        ("\\tfrac12", "1/2"),
        ("\\sqrt3", "\\sqrt{3}"),
        ("2\\sqrt2", "\\sqrt8"),
        ("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt2}{2}"),
    ],
    "decimal vs exact": [("0.5", "\\frac12"), ("\\frac14", "0.25"), ("0.333333", "\\frac13")],
    "percent": [("50\\%", "50"), ("50%", "50"), ("0.5", "50\\%"), ("50", "50\\%")],
    "text and units": [
        ("5\\text{ cm}", "5"),
        ("5 cm", "5"),
        ("\\text{5 meters}", "5"),
        ("30^\\circ", "30"),
        ("30^{\\circ}", "30"),
        ("\\text{Monday}", "\\text{Monday}"),
        ("\\text{(B)}", "B"),
        ("\\$5", "5"),
    ],
    "equations": [("x=3", "3"), ("3", "x=3"), ("y=2x+1", "2x+1"), ("y = 2x + 1", "y=2x+1")],
    "intervals": [
        ("(1,2]", "(1,2]"),
        ("[2, 5)", "[2,5)"),
        ("x<3", "(-\\infty,3)"),
        ("(1,\\infty)\\cup(-\\infty,0)", "(-\\infty,0)\\cup(1,\\infty)"),
    ],
    "sets, tuples, several answers": [
        ("\\{1,2\\}", "\\{2,1\\}"),
        ("1,2", "2,1"),
        ("(3, 4)", "(3,4)"),
        ("\\pm2", "2,-2"),
        ("2,-2", "\\pm 2"),
        ("x=\\pm 2", "\\pm 2"),
        ("-2 \\text{ and } 2", "\\pm 2"),
    ],
    "matrices": [
        ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}"),
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
    ],
    "symbolic identities": [
        ("\\frac{x^2-1}{x-1}", "x+1"),
        ("(x+1)^2", "x^2+2x+1"),
        ("2\\sin x\\cos x", "\\sin 2x"),
        ("\\log_2 8", "3"),
        ("\\frac{b+a}{2}", "\\frac{a+b}{2}"),
    ],
}

NOT_EQUAL = {
    "numbers": [("1,001", "1000"), ("250", "025"), ("27.5", "27.0"), ("-27", "27"), ("100", "1,000,000")],
    "fractions and roots": [
        ("\\frac13", "\\frac12"),
        ("\\frac21", "\\frac12"),
        ("\\sqrt2", "\\sqrt3"),
        ("\\frac{\\sqrt2}{2}", "\\frac{\\sqrt3}{2}"),
    ],
    "decimal vs exact": [("0.33", "\\frac13"), ("1.414", "\\sqrt2"), ("3.14", "\\pi"), ("0.2", "\\frac14")],
    "percent": [("40\\%", "50\\%"), ("5", "50\\%"), ("0.4", "50\\%")],
    "text and units": [
        ("6\\text{ cm}", "5"),
        ("6 cm", "5"),
        ("31^\\circ", "30"),
        ("\\text{Tuesday}", "\\text{Monday}"),
        ("\\text{(C)}", "B"),
    ],
    "equations": [("x=4", "3"), ("4", "x=3"), ("y=2x-1", "y=2x+1")],
    "intervals": [
        ("(1,2)", "(1,2]"),
        ("[1,2]", "(1,2]"),
        ("[2,5]", "[2,5)"),
        ("x\\le 3", "(-\\infty,3)"),
        ("(-\\infty,0)", "(-\\infty,0)\\cup(1,\\infty)"),
    ],
    "sets, tuples, several answers": [
        ("\\{1,3\\}", "\\{1,2\\}"),
        ("(4,3)", "(3,4)"),
        ("1,2", "1,2,3"),
        ("\\pm3", "\\pm2"),
        ("2", "\\pm2"),
    ],
    "matrices": [
        ("\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"),
        ("\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"),  # transposed
    ],
    "symbolic identities": [
        ("x+2", "x+1"),
        ("(x-1)^2", "x^2+2x+1"),
        ("\\sin x", "\\cos x"),
        ("\\log_2 9", "3"),
        ("2x", "x^2"),
    ],
}


def _cases(table):
    return [pytest.param(answer, gold, id=f"{category}: {answer} vs {gold}") for category, pairs in table.items()
            for answer, gold in pairs]  # fmt: skip


def test_every_category_is_tested_both_ways():
    assert EQUAL.keys() == NOT_EQUAL.keys()
    assert all(EQUAL[category] and NOT_EQUAL[category] for category in EQUAL)


@pytest.mark.parametrize(("answer", "gold"), _cases(EQUAL))
def test_equal(reward, answer, gold):
    assert is_correct(reward, answer, gold)


@pytest.mark.parametrize(("answer", "gold"), _cases(NOT_EQUAL))
def test_not_equal(reward, answer, gold):
    assert not is_correct(reward, answer, gold)


# -- the imaginary unit, and intervals decided before Math-Verify ---------------------------------------


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [("i(2-i)", "1+2i", True), ("2+i", "1+2i", False), ("i^2", "-1", True), ("\\sqrt{-4}", "2i", True)],
)
def test_i_is_the_imaginary_unit(pred, gold, expected):
    from rewards.math.equivalence import equivalent

    assert equivalent(pred, gold) is expected


def test_intervals_whose_ends_surely_differ_are_not_equal_without_math_verify():
    from rewards.math.equivalence import _intervals_differ, _parse

    far_end = _parse("[2^{\\frac{1}{2^{1000}}},\\infty)")[0]  # 1 + 7e-302: Math-Verify runs for minutes
    assert _intervals_differ(far_end, _parse("[1,+\\infty)")[0])
    assert _intervals_differ(_parse("(1,\\sqrt{3}]")[0], _parse("(1,\\sqrt{2}]")[0])
    assert not _intervals_differ(_parse("(1,\\sqrt{2}]")[0], _parse("(1,\\sqrt2]")[0])
    assert not _intervals_differ(_parse("[x,1)")[0], _parse("[y,1)")[0])  # symbols: Math-Verify decides
