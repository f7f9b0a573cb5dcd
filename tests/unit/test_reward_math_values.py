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


def test_fallback_answers_score_apart_from_boxed_ones():
    """A ladder for teaching the box: a right unboxed sum earns a little, any box more, the right box most."""
    params = MathReward.Params(
        fallbacks=["last_number"], fallback_correct=0.1, fallback_wrong=0.0, wrong=0.2, symbolic=False
    )
    completions = ["8 + 2 = 10", "8 + 2 = 11", "8 + 2 = \\boxed{10}", "8 + 2 = \\boxed{11}", "no number"]
    with MathReward(params) as reward:
        assert reward([None] * 5, completions, answer=["10"] * 5) == [0.1, 0.0, 1.0, 0.2, 0.0]
    with MathReward(MathReward.Params(fallbacks=["last_number"], wrong=0.2, symbolic=False)) as reward:
        assert reward([None], ["8 + 2 = 11"], answer=["10"]) == [0.2]  # unset: a wrong fallback answer is `wrong`
