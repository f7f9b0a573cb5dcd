"""The math reward's `symbolic: false`: only an answer written as a number matches, not the expression to evaluate."""

from __future__ import annotations

import pytest

from rewards.math.reward import MathReward


@pytest.mark.parametrize(
    ("completion", "symbolic", "value_only"),
    [
        ("\\boxed{9}", 1.0, 1.0),
        ("so 7 + 2 = \\boxed{9.0}", 1.0, 1.0),
        ("\\boxed{18/2}", 1.0, 1.0),
        ("\\boxed{7 + 2}", 1.0, 0.0),  # the question copied into the box
        ("To solve the equation \\boxed{9", 0.0, 0.0),  # unclosed, as a cut-off completion leaves it: no answer
        ("\\boxed{7 + 2 = 9}", 1.0, 0.0),
        ("\\boxed{10}", 0.0, 0.0),
    ],
)
def test_without_symbolic_checks_an_expression_is_not_its_value(completion, symbolic, value_only):
    gold = {"answer": ["9"]}
    # A generous time limit: the first symbolic check imports sympy, slow on a busy machine.
    assert MathReward(MathReward.Params(timeout=30.0))([None], [completion], **gold) == [symbolic]
    with MathReward(MathReward.Params(symbolic=False)) as reward:
        assert reward([None], [completion], **gold) == [value_only]
        assert reward.metrics()["timeouts"] == 0
