"""Finding the answer in a completion (`rewards.math.extract`): boxes, fallbacks, the text after </think>."""

from __future__ import annotations

import pytest

from rewards.math.extract import (
    all_boxed,
    answer_is,
    extract_answer,
    final_text,
    last_boxed,
    last_number,
    split_answer,
    top_level_parts,
)
from rewards.math.gold import after_hashes, solution_answer

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


@pytest.mark.parametrize(
    "completion",
    [
        "so 8 + 2 = \\boxed{10",  # cut off before the closing brace
        "\\boxed{3}, no: \\boxed{\\frac{1}{2}",  # the last box decides, and it is unclosed
        "To write the final answer as \\boxed{{\\bf",
        "the answer is 10, so \\boxed{10",  # no fallback either: the answer itself was cut off
    ],
)
def test_a_completion_cut_off_inside_its_box_has_no_answer(completion):
    assert extract_answer(completion, ["answer_is", "last_number"]) == (None, "none")


def test_a_closed_box_ending_in_a_brace_is_closed():
    assert extract_answer("\\boxed{\\frac{1}{2}}") == ("\\frac{1}{2}", "boxed")
    assert extract_answer("\\boxed{\\frac{1}{2}} done") == ("\\frac{1}{2}", "boxed")


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


# -- several boxes, answer sentences, structures in prose ----------------------------------------------


def test_all_boxed_in_order_and_a_box_in_a_box_once():
    text = "a \\boxed{(2,2)} and \\boxed{(6,2)}, \\boxed{\\boxed{3}}, \\boxed 7$ and \\boxed{unclosed"
    assert all_boxed(text) == ["(2,2)", "(6,2)", "3", "7"]


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("The solutions are $\\boxed{(2,2)}$ and $\\boxed{(6,2)}$.", "(2,2), (6,2)"),
        ("$x=\\boxed{2}$ or $x=\\boxed{-3}$", "2, -3"),
        ("only \\boxed{5}", None),  # one box: nothing to join
        ("\\boxed{1,2} then \\boxed{3}", None),  # a box holding a list itself: not a split answer
        ("<think>\\boxed{1}</think> \\boxed{2}", None),  # boxes in the reasoning do not count
    ],
)
def test_split_answer(completion, expected):
    assert split_answer(completion) == expected


@pytest.mark.parametrize(
    ("solution", "expected"),
    [
        ("so $\\boxed{12}$; Heron's formula again gives $\\boxed{12}$.", "12"),  # the same value twice
        ("The area is $\\boxed{12}$. Heron's formula also gives $\\boxed{12.0}$.", "12.0"),  # a restatement
        ("We get $\\boxed{3}$ for $a$.\n\nSo the answer is $\\boxed{9}$.", "9"),  # an earlier sentence
        ("$d = \\boxed{15\\frac{39}{40}},$ or $\\boxed{\\frac{639}{40}}$ inches.", "\\frac{639}{40}"),  # one value
        ("so $x=\\boxed{2}$, $x=\\boxed{3}$ or $x=\\boxed{2}$.", "3, 2"),
        ("so $x=\\boxed{2}$ or $x=\\boxed{3}$.", "2, 3"),  # several values: a list
        ("no box", None),
        ("unclosed \\boxed{3 + {4", "3 + {4"),
    ],
)
def test_solution_answer(solution, expected):
    assert solution_answer(solution) == expected


def test_after_hashes_reads_gsm8k_final_answers():
    assert after_hashes("She has 3 + 4 = 7 apples.\n#### 7") == "7"
    assert after_hashes("#### 1 \n#### 1,000 ") == "1,000"  # the last mark counts; commas stay
    assert after_hashes("no mark here: 7") is None


@pytest.mark.parametrize(
    ("answer", "parts"),
    [("(2,2),(6,2)", 2), ("\\{1,2,3\\}", 3), ("(1,2]", 1), ("1,000", 1), ("1, 2", 2), ("\\frac{1}{2}", 1)],
)
def test_top_level_parts(answer, parts):
    assert len(top_level_parts(answer)) == parts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Final Answer: The largest $n$ is 34.", "34"),
        ("Final Answer: The largest $n$ is $34$.", "34"),
        ("The answer is the interval $[2,5)$.", "[2,5)"),
        ("The answer is $x=2$ or $x=-3$.", "x=2, x=-3"),
        ("**Final Answer:** The number of ways is $6$.", "6"),
        ("Answer: x = 5", "x = 5"),  # an equation is kept whole
        ("The answer is 5 because x is odd.", "5"),  # opens with a value: kept, reasons dropped
        ("The answer is $x=2$ because $y$ is odd.", "x=2"),  # opens with math: its leading run
        ("Final answer: The value of $x$ that is largest is 5.", "5"),  # the first "is" a value follows
    ],
)
def test_answer_is_takes_the_value_of_the_sentence(text, expected):
    assert answer_is(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the solution set is $x \\in (2, 5]$.", "x \\in (2, 5]"),
        ("the inequality holds exactly when x > 3", "x > 3"),
        (
            "we get $$\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}.$$",
            "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        ),
        ("so the line is $y = 2x + 3$.", "y = 2x + 3"),
        ("we get $x = 3$, so 3 apples", "3"),  # a plain value stays a number
        ("so $x = 3$ here", "3"),
    ],
)
def test_last_number_keeps_the_structure_it_belongs_to(text, expected):
    assert last_number(text) == expected


def test_gnivo_eval_reads_gold_answers_with_the_same_extractor():
    from gnivo_cli.evaluation.benchmark_spec import LAST_BOXED

    for text in ("so \\boxed {5}.", "\\boxed{\\frac{1}{2}} at last", "\\fbox{x+1}"):
        assert LAST_BOXED.extract(text) == last_boxed(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so the solution is $x \\lt 3$.", "x \\lt 3"),
        ("the inequality holds when x \\gt 3", "x \\gt 3"),
        ("the only condition is x != 2", "x != 2"),
        ("so we need $y \\ne 5$", "y \\ne 5"),
        (
            "adding, $$\\begin{pmatrix}1\\\\2\\end{pmatrix}+\\begin{pmatrix}3\\\\4\\end{pmatrix}$$",
            "\\begin{pmatrix}1\\\\2\\end{pmatrix}+\\begin{pmatrix}3\\\\4\\end{pmatrix}",
        ),
    ],
)
def test_last_number_reads_relation_symbols_and_sums_of_matrices(text, expected):
    assert last_number(text) == expected


@pytest.mark.parametrize(
    ("answer", "parts"),
    [
        ("1,000, 2,000", ["1,000", "2,000"]),
        ("10,455", ["10,455"]),
        ("1,22", ["1", "22"]),
        ("A = \\{1, 2, 3\\}", ["1", "2", "3"]),
        ("x \\in \\left\\{1, 2\\right\\}", ["1", "2"]),
    ],
)
def test_top_level_parts_keeps_thousands_and_drops_a_sets_name(answer, parts):
    assert top_level_parts(answer) == parts


def test_a_box_holding_a_one_element_set_counts_as_its_element():
    assert split_answer("$\\boxed{\\{1\\}}$, $\\boxed{\\{2\\}}$") == "1, 2"
