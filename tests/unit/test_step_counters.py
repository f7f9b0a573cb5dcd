"""Per-step reward counters and the boxed-and-correct share, from cumulative counters."""

from __future__ import annotations

from collections import defaultdict

from gnivo_cli.training.callbacks import BOXED_CORRECT_SHARE, StepCounters


class FakeFunction:
    def __init__(self, name: str):
        self.__name__ = name
        self.samples_scored = 0
        self.counters: dict[str, float] = defaultdict(float)

    def score(self, samples: int, **counts: float) -> None:
        self.samples_scored += samples
        for key, value in counts.items():
            self.counters[key] += value


def test_share_pools_the_rewards_that_count_boxes_and_is_none_without_samples():
    first, second, plain = FakeFunction("a"), FakeFunction("b"), FakeFunction("plain")
    steps = StepCounters([first, second, plain])
    first.score(8, boxed_correct=2, boxed_wrong=6)
    second.score(8, boxed_correct=4)
    plain.score(8)
    assert steps.take() == {"a/boxed_correct": 2, "a/boxed_wrong": 6, "b/boxed_correct": 4, BOXED_CORRECT_SHARE: 6 / 16}
    first.score(8, boxed_correct=8)
    second.score(8)
    assert steps.take()[BOXED_CORRECT_SHARE] == 8 / 16  # this step's counts, not the run's
    assert steps.take() == {"a/boxed_correct": 0, "a/boxed_wrong": 0, "b/boxed_correct": 0, BOXED_CORRECT_SHARE: None}


def test_no_share_when_no_reward_counts_boxes():
    plain = FakeFunction("plain")
    plain.score(4, timeouts=1)
    assert StepCounters([plain]).take() == {"plain/timeouts": 0}  # counts before the first take belong to no step
    steps = StepCounters([plain])
    plain.score(4, timeouts=2)
    assert steps.take() == {"plain/timeouts": 2}
