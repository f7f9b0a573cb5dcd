"""The `format` reward: a fixed score for a completion whose text matches a pattern."""

from __future__ import annotations

import pytest

from gnivo_cli.errors import GnivoError
from rewards.format import FormatReward
from rewards.registry import load_reward

BOX = r"\\boxed\{[^{}]*\}"


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("3 + 8 = \\boxed{11}", 0.2),
        ("3 + 8 = \\boxed{}", 0.2),  # an empty box is the shape, if not an answer
        ("3 + 8 = \\boxed{11", 0.0),  # unclosed
        ("3 + 8 = \\boxed{\\text{11}}", 0.0),  # braces inside: not this pattern's shape
        ("3 + 8 = 11", 0.0),
        ([{"role": "assistant", "content": "so \\boxed{4}."}], 0.2),  # chat messages: the last message's text
    ],
)
def test_scores_what_matches(completion, expected):
    reward = FormatReward(FormatReward.Params(pattern=BOX, score=0.2))
    assert reward(["q"], [completion]) == [expected]


def test_full_match_needs_the_whole_text_and_otherwise_is_the_miss_score():
    reward = FormatReward(FormatReward.Params(pattern=r"\d+", match="full", score=1.0, otherwise=-1.0))
    assert reward([None] * 3, ["  42\n", "42 apples", "x"]) == [1.0, -1.0, -1.0]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "parameter 'pattern' is required"),
        ({"pattern": "\\boxed{("}, "parameter 'pattern' is not a regular expression"),
        ({"pattern": "x", "match": "fuzzy"}, "match"),
    ],
)
def test_bad_params_are_refused_naming_the_key(params, message):
    with pytest.raises(GnivoError, match=message):
        load_reward("format", params)


def test_found_by_name_with_recipe_params():
    reward = load_reward("format", {"pattern": BOX, "score": 0.5})
    assert reward.name == "format"
    assert reward([None, None], ["\\boxed{1}", "1"]) == [0.5, 0.0]


def test_a_bad_pattern_is_quoted_as_written_not_with_doubled_backslashes():
    with pytest.raises(GnivoError) as raised:
        load_reward("format", {"pattern": "\\boxed{("})
    assert "in the pattern \\boxed{(" in str(raised.value)
