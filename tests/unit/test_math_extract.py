"""Finding the answer in a completion (`rewards._math_extract`): boxes, fallbacks, the text after </think>."""

from __future__ import annotations

import pytest

from rewards._math_extract import answer_is, extract_answer, final_text, last_boxed, last_number

# -- extraction ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so \\boxed{42}.", "42"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed{\\frac{\\sqrt{3}}{2}} done", "\\frac{\\sqrt{3}}{2}"),
        ("first \\boxed{1}, then \\boxed{2}", "2"),
        ("\\fbox{7}", "7"),
        ("\\boxed{1} and \\fbox{8}", "8"),
        ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces are content, not nesting
        ("\\boxed {5}", "5"),
        ("\\boxed 5$", "5"),
        ("the answer: \\boxed{x^{2", "x^{2"),  # unclosed: the rest of the text
        ("\\boxed{\\boxed{3}}", "3"),
        ("\\fboxsep=2pt \\boxed{4}", "4"),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


@pytest.mark.parametrize("text", ["no box here", "\\boxed{}", "\\boxed{   }", "\\fboxsep=1pt"])
def test_last_boxed_none(text):
    assert last_boxed(text) is None


def test_only_text_after_think_counts():
    completion = "<think>maybe \\boxed{1}?</think> The answer is \\boxed{2}."
    assert final_text(completion) == " The answer is \\boxed{2}."
    assert extract_answer(completion) == ("2", "boxed")
    # The box inside the reasoning is not an answer.
    assert extract_answer("<think>\\boxed{1}</think> no idea", ["answer_is"]) == (None, "none")
    # Without the closing tag, the whole text counts.
    assert extract_answer("<think> \\boxed{3}") == ("3", "boxed")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("So the final answer is 42.", "42"),
        ("The answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}"),
        ("Final Answer: The final answer is 3.5. Done", "3.5"),
        ("the answer is: **12**", "12"),
        ("Answer: x = 5", "x = 5"),
        ("The answer is 1. Wait, the answer is 2.", "2"),
    ],
)
def test_answer_is(text, expected):
    assert answer_is(text) == expected


def test_answer_is_needs_the_phrase():
    assert answer_is("the answer isn't clear") is None
    assert answer_is("I computed 5") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("we get 3 then 4.", "4"), ("total 1,234.5 apples", "1,234.5"), ("-7 is it", "-7"), ("ratio 3/4", "3/4")],
)
def test_last_number(text, expected):
    assert last_number(text) == expected


def test_fallbacks_in_the_order_given_and_only_when_enabled():
    text = "I got 7 first. The answer is 12. Check: 3"
    assert extract_answer(text) == (None, "none")
    assert extract_answer(text, ["answer_is", "last_number"]) == ("12", "answer_is")
    assert extract_answer(text, ["last_number", "answer_is"]) == ("3", "last_number")
    assert extract_answer("\\boxed{5} the answer is 6", ["answer_is"]) == ("5", "boxed")
