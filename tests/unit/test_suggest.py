"""The one did-you-mean helper every unknown-name message uses."""

from __future__ import annotations

from gnivo_cli.suggest import closest, did_you_mean, unknown_name


def test_closest_finds_a_near_name_and_nothing_for_a_far_one():
    assert closest("learning_rat", ["learning_rate", "max_steps"]) == "learning_rate"
    assert closest("zzz", ["learning_rate", "max_steps"]) is None
    assert closest("abc", []) is None


def test_did_you_mean_is_a_message_tail_or_nothing():
    assert did_you_mean("mth", ["math", "length"]) == "; did you mean 'math'?"
    assert did_you_mean("qqqq", ["math", "length"]) == ""


def test_a_mapping_suggests_what_the_close_key_stands_for():
    aliases = {"math500": "math500", "math_500": "math500"}
    assert did_you_mean("math_50", aliases, stands_for=aliases) == "; did you mean 'math500'?"
    assert did_you_mean("timout", {"timeout": object()}) == "; did you mean 'timeout'?"  # a mapping's keys
    assert did_you_mean("qqqq", ["math"], otherwise=" (known: math)") == " (known: math)"


def test_the_whole_message_for_an_unknown_name():
    message = unknown_name("reward", "maths", ["math", "length"], listed="available: math, length")
    assert message == "unknown reward 'maths'; did you mean 'math'? (available: math, length)"


def test_no_other_module_words_a_suggestion():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [*root.joinpath("gnivo_cli").rglob("*.py"), *root.joinpath("rewards").rglob("*.py")]
    wording = [p for p in sources if "did you mean" in p.read_text().lower() and p.name != "suggest.py"]
    matching = [p for p in sources if "get_close_matches" in p.read_text() and p.name != "suggest.py"]
    assert wording == [] and matching == []
