"""The one did-you-mean helper every unknown-name message uses."""

from __future__ import annotations

from gnivo_cli.suggest import closest, did_you_mean


def test_closest_finds_a_near_name_and_nothing_for_a_far_one():
    assert closest("learning_rat", ["learning_rate", "max_steps"]) == "learning_rate"
    assert closest("zzz", ["learning_rate", "max_steps"]) is None
    assert closest("abc", []) is None


def test_did_you_mean_is_a_message_tail_or_nothing():
    assert did_you_mean("mth", ["math", "length"]) == "; did you mean 'math'?"
    assert did_you_mean("qqqq", ["math", "length"]) == ""
