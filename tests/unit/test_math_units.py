"""Units after a number (`rewards.math.units`): read apart from the value, and compared with the gold's
only where both state one; a glued abbreviation is a unit only when the gold states it."""

from __future__ import annotations

import pytest

from rewards.math.units import Measured, canonical_unit, compare_units, split_unit


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("10 cm", Measured("10", "cm")),
        ("10\\text{ cm}", Measured("10", "cm")),
        ("10 \\text{ centimeters}", Measured("10", "cm")),
        ("15\\text{ cm}^2", Measured("15", "cm^2")),
        ("15 \\text{ cm^2}", Measured("15", "cm^2")),
        ("32\\text{ square cm}", Measured("32", "cm^2")),
        ("20 \\text{ sq. units}", Measured("20", "unit^2")),
        ("5225 \\text{ cubic inches}", Measured("5225", "inch^3")),
        ("8 hours", Measured("8", "hour")),
        ("8 hrs", Measured("8", "hour")),
        ("10weeks", Measured("10", "week")),
        ("10cm", Measured("10", "cm", glued=True)),
        ("5 m", Measured("5", "m")),
        ("90^\\circ", Measured("90", "degree")),
        ("\\frac{270}7\\text{ degrees}", Measured("\\frac{270}7", "degree")),
        ("4 feet", Measured("4", "foot")),
        ("240\\text{ ways.}", Measured("240", "way")),
        ("3ab", Measured("3ab")),  # algebra: not a known unit
        ("2 x", Measured("2 x")),  # one letter that is no unit symbol
        ("2 and 3", Measured("2 and 3")),  # a list
        ("x \\text{ cm}", Measured("x \\text{ cm}")),  # only numbers carry units here
        ("\\text{Monday}", Measured("\\text{Monday}")),
        ("word " * 30 + "5 cm", Measured("word " * 30 + "5 cm")),  # prose, not a number with its unit
    ],
)
def test_split_unit(answer, expected):
    assert split_unit(answer) == expected


def test_spellings_of_one_unit_agree():
    assert canonical_unit("centimetres") == canonical_unit("cm") == "cm"
    assert canonical_unit("inches") == canonical_unit("in") == "inch"
    assert canonical_unit("square feet") == canonical_unit("ft", "2") == "foot^2"
    assert canonical_unit("cm") != canonical_unit("cm", "2")
    assert canonical_unit("and more") is None


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        ("10 cm", "10\\text{ cm}", ("10", "10")),
        ("10 m", "10 cm", None),  # both state a unit: another unit is another answer
        ("15 \\text{ cm}", "15\\text{ cm}^2", None),
        ("5.4 dollars", "5.4 \\text{ cents}", None),
        ("10", "10\\text{ cm}", ("10", "10")),  # the answer leaves the unit out: the numbers decide
        ("8 hours", "8", ("8", "8")),  # the answer adds the unit the question asked in
        ("90", "90^\\circ", ("90", "90")),
        ("10cm", "10", ("10\\,c\\,m", "10")),  # glued, and no cm in the gold: a product of variables
        ("10cm", "10\\text{ cm}", ("10", "10")),  # glued, and the gold says cm: the unit
        ("10cm", "10 m", ("10\\,c\\,m", "10")),
    ],
)
def test_compare_units(pred, gold, expected):
    assert compare_units(pred, gold) == expected
