"""The `math` reward: extraction, equivalence (each category both ways), reward values, robustness."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from gnivo_cli.errors import GnivoError
from rewards._math_extract import answer_is, extract_answer, final_text, last_boxed, last_number
from rewards.math import MathReward, Verdict, gold_answers
from rewards.registry import reward_param_problems

TOWER = "\\boxed{9^{9^{9^{9}}}}"  # sympy would compute this for ever


@pytest.fixture(scope="module")
def reward():
    with MathReward.from_config({}, name="math") as reward:
        yield reward


def is_correct(reward: MathReward, answer: str, gold) -> bool:
    (verdict,) = reward.judge([f"Thus the result is \\boxed{{{answer}}}."], [gold])
    assert verdict.source == "boxed"
    return verdict.correct


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


# -- gold answers as datasets store them ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("025", ["025"]),
        (70, ["70"]),  # aime25: JSON ints
        (27.0, ["27"]),  # amc23: floats
        (0.5, ["0.5"]),
        ("$x=3$", ["x=3"]),  # olympiadbench style
        (["$\\frac12$"], ["\\frac12"]),
        ("So $x=2$ and the area is $\\boxed{\\frac{9}{2}}$.", ["\\frac{9}{2}"]),  # a MATH solution
        ("3 + 4 = <<3+4=7>>7 apples.\n#### 1,250", ["1,250"]),  # GSM8K
        ("\\boxed{}", []),
        (None, []),
        (float("nan"), []),
        ("  ", []),
    ],
)
def test_gold_answers(value, expected):
    assert gold_answers(value) == expected


@pytest.mark.parametrize(("answer", "gold"), [("25", "025"), ("70", 70), ("27", 27.0), ("27.0", 27.0), ("0.5", 0.5)])
def test_gold_types_equal(reward, answer, gold):
    assert is_correct(reward, answer, gold)


@pytest.mark.parametrize(("answer", "gold"), [("26", "025"), ("71", 70), ("27.5", 27.0), ("5", 0.5)])
def test_gold_types_not_equal(reward, answer, gold):
    assert not is_correct(reward, answer, gold)


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


def test_extraction_robustness(reward):
    golds = ["\\frac{1}{2}"] * 4
    completions = [
        "We try \\boxed{3} first, but that fails; recompute to get \\boxed{\\frac{1}{2}}.",
        "Step 1: set $x = \\frac{1}{4}$. Step 2: double it.\n\nThe answer is $\\boxed{\\dfrac{1}{2}}$ (approx).",
        "\\boxed{\\frac{1}{2}} is wrong, the real answer is \\boxed{\\frac{1}{3}}",
        "<think>it is \\boxed{\\frac{1}{2}}</think>I will not say.",
    ]
    assert [v.correct for v in reward.judge(completions, golds)] == [True, True, False, False]


# -- reward values and parameters -------------------------------------------------------------------------


def test_reward_values_are_configurable():
    params = {"correct": 2.0, "wrong": -1.0, "unparsable": -2.0, "fallback_correct": 0.5, "fallbacks": ["answer_is"]}
    with MathReward.from_config(params, name="math") as reward:
        scores = reward(
            ["p"] * 5,
            ["\\boxed{4}", "\\boxed{5}", "The answer is 4.", "I think 4", "The answer is 5."],
            answer=["4"] * 5,
        )
    assert scores == [2.0, -1.0, 0.5, -2.0, -1.0]


def test_default_values(reward):
    scores = reward(["p"] * 4, ["\\boxed{4}", "\\boxed{5}", "so it is 4", "no idea"], answer=[4, 4, 4, 4])
    assert scores == [1.0, 0.0, 1.0, 0.0]  # fallbacks on by default, at full credit


def test_no_gold_means_the_reward_does_not_apply(reward):
    assert reward(["p", "p", "p"], ["\\boxed{1}"] * 3, answer=["1", None, float("nan")]) == [1.0, None, None]


def test_answer_column_is_configurable():
    with MathReward.from_config({"answer_column": "solution"}, name="math") as reward:
        assert reward.required_columns == ("solution",)
        assert reward(["p"], ["\\boxed{9}"], solution=["9"], answer=["8"]) == [1.0]
        with pytest.raises(GnivoError, match=r"'solution'.*columns present: answer"):
            reward(["p"], ["\\boxed{9}"], answer=["9"])


def test_unknown_columns_are_ignored(reward):
    assert reward(["p"], ["\\boxed{9}"], answer=["9"], difficulty=[3], trainer_state=[None]) == [1.0]


def test_a_list_of_golds_accepts_any(reward):
    assert [v.correct for v in reward.judge(["\\boxed{3}", "\\boxed{4}"], [["2", "3"], ["2", "3"]])] == [True, False]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"timout": 1}, "unknown parameter 'timout' (did you mean 'timeout'?"),
        ({"fallbacks": ["guess"]}, "parameter 'fallbacks' must be a list of"),
        ({"timeout": 0}, "'timeout' must be > 0"),
        ({"workers": -3}, "'workers' must be"),
        ({"correct": "yes"}, "parameter 'correct' must be float"),
        ({"fallbacks": ["answer_is", "answer_is"]}, "lists a fallback twice"),
    ],
)
def test_param_problems_name_reward_and_key(params, message):
    problems = reward_param_problems("math", params)
    assert len(problems) == 1
    assert problems[0].startswith("reward 'math': ")
    assert message in problems[0]


def test_valid_params_have_no_problems():
    assert reward_param_problems("math", {"fallbacks": [], "workers": -1, "timeout": 0.5, "correct": 1}) == []


# -- never hangs, never crashes ---------------------------------------------------------------------------


def test_metrics_count_since_last_call():
    with MathReward.from_config({"timeout": 0.5, "fallbacks": ["last_number"]}, name="math") as reward:
        reward.metrics()
        reward(["p"] * 4, [TOWER, "no answer", "it is 3", "\\boxed{2}"], answer=["1", "1", "3", "2"])
        assert reward.metrics() == {"timeouts": 1.0, "unparsable": 1.0, "fallback_answers": 1.0, "errors": 0.0}
        assert reward.metrics()["timeouts"] == 0.0


def test_timeout_is_not_equal_and_counted():
    with MathReward.from_config({"timeout": 0.5}, name="math") as reward:
        verdict = reward.judge([TOWER], ["1"])[0]
        assert verdict == Verdict(extracted="9^{9^{9^{9}}}", correct=False, timed_out=True, source="boxed",
                                  seconds=verdict.seconds)  # fmt: skip
        assert reward.judge([TOWER], ["1"])[0].timed_out  # checked again, not cached: load may have caused it
        assert reward.metrics()["timeouts"] == 2


JUNK = [
    "x" * 100_000 + "\\boxed{" + "1+" * 50_000 + "1}",  # 200 KB, a huge box
    "\\boxed{" * 10_000,  # unbalanced braces, deeply unclosed
    "}" * 1000 + "\\boxed{1}}}}}",
    "\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}",  # deep nesting
    bytes(range(256)).decode("latin-1") * 400,  # binary junk
    "\x00\ud800\\boxed{\x00}",  # NUL and a lone surrogate
    "\\boxed{\\frac{}{}}",
    "\\boxed{\\begin{pmatrix}1&2\\\\3}",
    "The answer is " + "9" * 5000,  # a 5000-digit number
    "the answer is " * 20_000,  # a phrase repeated: extraction stays linear
    "\\boxedx" * 20_000 + "1,2" * 20_000,
    TOWER,
]


def test_junk_gets_a_reward_value_not_a_crash():
    with MathReward.from_config({"timeout": 0.5}, name="math") as reward:
        scores = reward(["p"] * len(JUNK), JUNK, answer=["1"] * len(JUNK))
    assert len(scores) == len(JUNK)
    assert all(score in (0.0, 1.0) for score in scores)
    assert scores[2] == 1.0  # stray closing braces before a good box do not matter


def test_non_string_completions_and_chat_messages(reward):
    completions = [None, 42, [{"role": "assistant", "content": "\\boxed{42}"}], b"\\boxed{42}"]
    assert reward(["p"] * 4, completions, answer=["42"] * 4) == [0.0, 1.0, 1.0, 1.0]


def test_time_limit_works_outside_the_main_thread():
    results = {}

    def score():
        with MathReward.from_config({"timeout": 0.5}, name="math") as reward:
            results["scores"] = reward(["p", "p"], [TOWER, "\\boxed{\\frac12}"], answer=["1", "0.5"])
            results["metrics"] = reward.metrics()

    thread = threading.Thread(target=score)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert results["scores"] == [0.0, 1.0]
    assert results["metrics"]["timeouts"] == 1


def test_parallel_scoring_matches_in_process():
    completions = [f"\\boxed{{{i}/2}}" for i in range(12)] + [TOWER, "\\boxed{\\sqrt{4}}"]
    golds = [str(i / 2) for i in range(12)] + ["1", "2"]
    with MathReward.from_config({"workers": 2, "timeout": 0.5}, name="math") as parallel:
        verdicts = parallel.judge(completions, golds)
        assert parallel.metrics()["timeouts"] == 1
    expected = [True] * 12 + [False, True]
    assert [v.correct for v in verdicts] == expected
    assert [v.timed_out for v in verdicts] == [False] * 12 + [True, False]


# -- the worker pool ------------------------------------------------------------------------------------


def stubborn(seconds: float) -> str:
    """Ignores the in-worker timer, like a long C call would: only killing the process stops it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(seconds)
    return "finished"


def test_a_stuck_worker_is_killed_and_replaced():
    from rewards._math_pool import WorkerPool

    pool = WorkerPool(f"{__name__}:stubborn", workers=1, timeout=0.2, grace=0.2)
    try:
        first = pool.run([(600,), (0,)])
        assert first[0].timed_out
        assert first[1].value == "finished"
        assert pool.replaced == 1
        assert pool.run([(0,)])[0].value == "finished"  # the replacement works
    finally:
        pool.close()


# -- the real benchmark files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "field"),
    [("amc23.jsonl", "answer"), ("aime25.jsonl", "answer"), ("olympiadbench.jsonl", "final_answer"),
     ("gsm8k_test.jsonl", "answer"), ("minerva_math.jsonl", "solution"), ("math500.jsonl", "answer")],
)  # fmt: skip
def test_gold_answers_of_each_benchmark_are_found_and_equal_to_themselves(reward, shared_benchmarks, name, field):
    import json

    lines = (shared_benchmarks / name).read_text().splitlines()
    golds = [json.loads(line)[field] for line in lines[:40]]  # floats, ints, lists, solutions, "#### N"
    answers = [gold_answers(gold)[0] for gold in golds]
    assert all(answers)
    verdicts = reward.judge([f"So the answer is $\\boxed{{{a}}}$." for a in answers], golds)
    assert [v.correct for v in verdicts] == [True] * len(golds)
    shifted = reward.judge([f"\\boxed{{{a}}}" for a in answers[1:] + answers[:1]], golds)
    equal_neighbours = [a for a, b in zip(answers, answers[1:] + answers[:1], strict=True) if a == b]
    assert sum(v.correct for v in shifted) <= len(equal_neighbours) + 2


def test_an_outer_timer_survives_a_check():
    from rewards._math_pool import run_with_timer

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        assert run_with_timer(lambda: "done", (), 5.0).value == "done"
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < left <= 0.3
        time.sleep(0.5)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
