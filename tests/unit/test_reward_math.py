"""The `math` reward (`rewards.math.reward`): gold answers, reward values, parameters, metrics, robustness."""

from __future__ import annotations

import threading

import pytest

from gnivo_cli.errors import GnivoError
from rewards.math.reward import MathReward, Verdict, gold_answers
from rewards.registry import reward_param_problems
from tests.math_helpers import is_correct, warmed_up_reward

TOWER = "\\boxed{9^{9^{9^{9}}}}"  # sympy would compute this for ever


reward = pytest.fixture(scope="module")(warmed_up_reward)


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
        ({"timout": 1}, "unknown parameter 'timout'; did you mean 'timeout'? (known:"),
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


#: Long enough for any real check on a loaded machine; the tower of powers still runs into it.
LEGIT_CHECK_TIMEOUT = 2.0


# -- never hangs, never crashes ---------------------------------------------------------------------------


def test_metrics_count_since_last_call():
    with MathReward.from_config({"timeout": LEGIT_CHECK_TIMEOUT, "fallbacks": ["last_number"]}, name="math") as reward:
        reward.metrics()
        reward(["p"] * 4, [TOWER, "no answer", "it is 3", "\\boxed{2}"], answer=["1", "1", "3", "2"])
        metrics = reward.metrics()
        assert {key: metrics[key] for key in ("timeouts", "unparsable", "fallback_answers", "errors")} == {
            "timeouts": 1.0,
            "unparsable": 1.0,
            "fallback_answers": 1.0,
            "errors": 0.0,
        }
        # How each answer was judged: the timed-out box is wrong, "it is 3" a correct fallback.
        assert metrics["boxed_correct"] == 1.0 and metrics["boxed_wrong"] == 1.0
        assert metrics["fallback_correct"] == 1.0 and metrics["fallback_wrong"] == 0.0
        assert reward.metrics()["timeouts"] == 0.0


def test_metrics_count_boxed_and_fallback_verdicts_only_where_there_is_a_gold(reward):
    reward.metrics()
    completions = ["\\boxed{4}", "\\boxed{5}", "The answer is 4.", "The answer is 6.", "nothing", "\\boxed{4}"]
    reward(["p"] * 6, completions, answer=["4", "4", "4", "4", "4", None])
    metrics = reward.metrics()
    judged = ("boxed_correct", "boxed_wrong", "fallback_correct", "fallback_wrong", "unparsable", "fallback_answers")
    assert [metrics[key] for key in judged] == [1.0, 1.0, 1.0, 1.0, 1.0, 2.0]


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
    with MathReward.from_config({"timeout": LEGIT_CHECK_TIMEOUT}, name="math") as reward:
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
        with MathReward.from_config({"timeout": LEGIT_CHECK_TIMEOUT}, name="math") as reward:
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
    with MathReward.from_config({"workers": 2, "timeout": LEGIT_CHECK_TIMEOUT}, name="math") as parallel:
        verdicts = parallel.judge(completions, golds)
        assert parallel.metrics()["timeouts"] == 1
    expected = [True] * 12 + [False, True]
    assert [v.correct for v in verdicts] == expected
    assert [v.timed_out for v in verdicts] == [False] * 12 + [True, False]


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
