"""Cheap comparison in plain Python (`rewards.math.quick`): normalization rewrites, exact numbers, clock
times, intervals/tuples/lists of exact numbers, and the numeric tolerance convention."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rewards.math.quick import clean, clock_seconds, decide, decimal_comma, exact_number


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("4 4/9", "4\\frac{4}{9}"),  # plain-text mixed number
        ("-11 5/6", "-11\\frac{5}{6}"),
        ("4 9/4", "4 9/4"),  # not a proper fraction: not a mixed number, left alone
        ("\\sqrt[3]8", "\\sqrt[3]{8}"),
        ("\\sqrt[4]x+1", "\\sqrt[4]{x}+1"),
        ("1.5e-3", "1.5\\times10^{-3}"),
        ("1.5 \\cdot 10^{-3}", "1.5 \\times 10^{-3}"),
        ("10weeks", "10weeks"),  # units are read against the gold's (test_math_units.py)
        ("3ab", "3ab"),
        ("\\sin(90^\\circ-x)", "\\sin(\\frac{90\\pi}{180}-x)"),  # degrees inside trigonometry
        ("30^\\circ", "30^\\circ"),  # outside trigonometry a degree sign is a unit (30° = 30)
        ("30°", "30^\\circ"),
        ("\\sin 30°", "\\sin \\frac{30\\pi}{180}"),
    ],
)
def test_clean_rewrites_what_the_parser_misreads(answer, expected):
    assert clean(answer) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("10/2", (Fraction(5), False)),
        ("-\\frac12", (Fraction(-1, 2), False)),
        ("4\\frac{4}{9}", (Fraction(40, 9), False)),
        ("-4\\frac{4}{9}", (Fraction(-40, 9), False)),
        ("1.5\\times10^{-3}", (Fraction(3, 2000), True)),
        ("1,250", (Fraction(1250), False)),
        ("2\\frac{5}{3}", None),  # an improper fraction after a whole number: the parser decides
        ("x/2", None),
        ("1\\times10^{99999}", None),  # exponents stay small: no huge integers
    ],
)
def test_exact_number(answer, expected):
    assert exact_number(answer) == expected


@pytest.mark.parametrize(
    ("answer", "seconds"),
    [("20:34", 74040), ("20:34:00", 74040), ("8:34 pm", 74040), ("8:34 p.m.", 74040), ("12:05 am", 300)],
)
def test_clock_seconds(answer, seconds):
    assert clock_seconds(answer) == seconds


@pytest.mark.parametrize("answer", ["13:00 pm", "25:00", "1:2", "20:61"])
def test_not_a_clock_time(answer):
    assert clock_seconds(answer) is None


# The numeric convention: exact numbers (integers, fractions, mixed numbers) compare exactly; a decimal
# matches when both agree rounded to 6 decimal places and within a relative 1e-5.
@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        ("0.333333", "\\frac13", True),
        ("0.3333333", "\\frac{1}{3}", True),
        ("0.33", "\\frac13", False),
        ("0.5", "1/2", True),
        ("1.5e-7", "2e-7", False),  # both round to 0.000000: the relative rule tells them apart
        ("0.00000015", "0.0000002", False),
        ("1234567.4", "1234567", False),
        ("1.5\\times10^{-3}", "\\frac{3}{2000}", True),
        ("4 4/9", "\\frac{40}{9}", True),
        ("20:34", "20:34:00", True),
        ("8:30 PM", "20:30", True),
        ("8:30 AM", "20:30", False),
    ],
)
def test_numbers_and_times(pred, gold, expected):
    assert decide(pred, gold) is expected


# Lists, tuples, intervals of exact numbers: a comma list is a set of answers (any order); brackets make
# an ordered group whose brackets count.
@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        ("2,1", "1,2", True),
        ("1,2", "1,2,3", False),
        ("(1,2)", "(2,1)", False),
        ("(2,2),(6,2)", "(6,2),(2,2)", True),
        ("(2,2),(6,3)", "(6,2),(2,2)", False),
        ("\\left(1,2\\right]", "(1,2]", True),
        ("(1,2)", "(1,2]", False),
        ("(0,1]", "[0,1]", False),
        ("[1,\\infty)", "[1,+\\infty)", True),
        ("x \\in (2,5]", "(2,5]", True),
        ("\\{1,3\\}", "1, 3", True),
    ],
)
def test_structured_answers_of_exact_numbers(pred, gold, expected):
    assert decide(pred, gold) is expected


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ("(1,2)", "\\{1,2\\}"),
        ("\\pm 2", "2,-2"),
        ("[0.5,2)", "[\\frac12,2)"),
        ("(1,\\infty)\\cup(-\\infty,0)", "(1,2)"),
    ],
)
def test_what_the_quick_rules_leave_to_the_parser(pred, gold):
    assert decide(pred, gold) is None


@pytest.mark.parametrize(
    ("answer", "reading"),
    [
        ("1,22", "1.22"),
        ("1000,99", "1000.99"),
        ("1.000,99", "1000.99"),
        ("1 000,99", "1000.99"),
        ("3{,}5", "3.5"),
        ("-0,5", "-0.5"),
        ("10,455", None),  # three digits after the comma: thousands
        ("1,000,000", None),
        ("1, 22", None),  # a list
        ("x,2", None),
    ],
)
def test_decimal_comma_reading(answer, reading):
    assert decimal_comma(answer) == reading


# A comma that cannot separate thousands is a decimal comma against one number, a separator against a list.
@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        ("1,22", "1.22", True),
        ("1.22", "1,22", True),
        ("1,22", "22", False),
        ("1,22", "1", False),
        ("1,22", "1, 22", True),
        ("1,22", "\\{22, 1\\}", True),
        ("10,455", "10455", True),
        ("10,455", "10.455", False),
        ("1,000, 2,000", "2000, 1000", True),
    ],
)
def test_commas_between_digits(pred, gold, expected):
    assert decide(pred, gold) is expected
