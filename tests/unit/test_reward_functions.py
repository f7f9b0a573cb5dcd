"""Rewards inside training (`algorithms/reward_functions.py`): inputs as given, outputs checked, errors located."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pytest

from gnivo_cli.algorithms.reward_functions import AllNoneGuard, TrlRewardFunction, share_counts
from gnivo_cli.errors import GnivoError
from rewards.base import Reward, RewardParams, check_scores

PROMPTS = [
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 3+3?"}],
]
COMPLETIONS = [[{"role": "assistant", "content": "4"}], [{"role": "assistant", "content": "boom"}]]


class Scripted(Reward):
    @dataclasses.dataclass(frozen=True)
    class Params(RewardParams):
        values: list | None = None
        fail_on: str | None = None

    def __init__(self, params=None, *, name=None):
        super().__init__(params, name=name or "scripted")
        self.seen: list[tuple] = []

    def __call__(self, prompts, completions, **columns):
        self.seen.append((prompts, completions, columns))
        if any(c[-1]["content"] == self.params.fail_on for c in completions):
            raise ValueError("cannot parse")
        return list(self.params.values) if self.params.values is not None else [1.0] * len(completions)


def call(function, step=6, **columns):
    state = SimpleNamespace(global_step=step)
    return function(PROMPTS, COMPLETIONS, completion_ids=[[1], [2]], trainer_state=state, **columns)


def test_prompts_and_completions_arrive_as_given_with_the_columns():
    reward = Scripted()
    assert call(TrlRewardFunction(reward), answer=["4", "6"]) == [1.0, 1.0]
    ((prompts, completions, columns),) = reward.seen
    assert prompts == PROMPTS and completions == COMPLETIONS  # roles kept, nothing flattened
    assert columns == {"answer": ["4", "6"]}  # trl's own keywords are not columns


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1.0, math.nan], "returned nan for sample 1"),
        ([1.0, "high"], "returned 'high' for sample 1"),
        ([1.0], "returned 1 values for 2 completions"),
        ([True, 1.0], "returned True for sample 0"),
        (None, "returned NoneType"),
    ],
)
def test_bad_outputs_stop_training_with_one_line_naming_the_step(values, message):
    function = TrlRewardFunction(_returning(values))
    with pytest.raises(GnivoError, match=message) as error:
        call(function)
    assert str(error.value).startswith("step 7: reward ")
    assert "\n" not in str(error.value)


def _returning(value):
    class Returns(Scripted):
        def __call__(self, prompts, completions, **columns):
            return value

    return Returns()


def test_a_raising_sample_is_named_with_the_step_and_prompt():
    function = TrlRewardFunction(Scripted(Scripted.Params(fail_on="boom")))
    with pytest.raises(GnivoError) as error:
        call(function, step=11)
    message = str(error.value)
    assert message.startswith("step 12: reward 'scripted' raised ValueError: cannot parse")
    assert "sample 1 of the batch, prompt 'What is 3+3?'" in message and "on_error: skip" in message


def test_on_error_skip_turns_the_raising_sample_into_none_and_counts_it():
    function = TrlRewardFunction(Scripted(Scripted.Params(fail_on="boom")), on_error="skip")
    assert call(function) == [1.0, None]
    assert call(function) == [1.0, None]
    assert function.counters["errors_skipped"] == 2


def test_all_none_batches_stop_training_after_a_few_in_a_row():
    guard = AllNoneGuard(["a", "b"], limit=3)
    nothing = TrlRewardFunction(Scripted(Scripted.Params(values=[None, None]), name="a"), guard=guard)
    partial = TrlRewardFunction(Scripted(Scripted.Params(values=[None, 0.5]), name="b"), guard=guard)
    for _ in range(5):  # one reward applying to one sample is enough
        call(nothing), call(partial)
    empty = TrlRewardFunction(Scripted(Scripted.Params(values=[None, None]), name="b"), guard=guard)
    call(nothing), call(empty)
    call(nothing), call(empty)
    call(nothing)
    with pytest.raises(GnivoError, match=r"every reward \(a, b\) returned None for every completion in 3 batches"):
        call(empty)


def test_check_scores_accepts_numbers_of_any_kind_and_none():
    import numpy as np

    assert check_scores("r", [1, np.float32(0.5), None], 3) == [1.0, 0.5, None]
    assert check_scores("r", np.array([0.25, 1.0]), 2) == [0.25, 1.0]


class Counting(Scripted):
    """Counts the completions that say "4", like the math reward's verdict counters."""

    def __call__(self, prompts, completions, **columns):
        self.fours = sum(c[-1]["content"] == "4" for c in completions)
        return super().__call__(prompts, completions, **columns)

    def metrics(self):
        return {"fours": float(self.fours)}


def test_shared_counts_make_every_process_hold_the_whole_batch():
    ranks = [TrlRewardFunction(Counting()) for _ in range(2)]
    call(ranks[0])  # rank 0 scored one "4" and one "boom"
    call(ranks[1])
    call(ranks[1])  # rank 1 scored two batches before the share
    exchanged = [function.take_unshared() for function in ranks]

    def gather(mine):  # what accelerate's gather_object returns to each process: every rank's list, in order
        return [[exchanged[0]], [exchanged[1]]]

    for rank, function in enumerate(ranks):
        function._unshared = exchanged[rank]
        share_counts([function], gather, rank)
    assert [f.samples_scored for f in ranks] == [6, 6]
    assert [dict(f.counters) for f in ranks] == [{"fours": 3.0}, {"fours": 3.0}]
    share_counts([ranks[0]], lambda mine: [mine, [(0, {})]], 0)  # nothing new: nothing added
    assert ranks[0].samples_scored == 6 and ranks[0].counters["fours"] == 3.0


class NeedsAnswer(Scripted):
    required_columns = ("answer",)


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_missing_column_stops_training_whatever_on_error_says(on_error):
    from rewards.base import RewardConfigError

    reward = NeedsAnswer()
    with pytest.raises(RewardConfigError, match=r"needs the column 'answer', which the data lacks \(columns: key"):
        call(TrlRewardFunction(reward, on_error=on_error), key=["a", "b"])
    assert reward.seen == []  # not called: no sample is to blame


def test_a_reward_that_finds_its_configuration_wrong_itself_is_not_skipped_sample_by_sample():
    from rewards.base import RewardConfigError

    class ChecksItself(Scripted):
        def __call__(self, prompts, completions, **columns):
            self.seen.append(columns)
            raise RewardConfigError("reward 'scripted': params.column names no column")

    reward = ChecksItself()
    with pytest.raises(RewardConfigError, match="names no column"):
        call(TrlRewardFunction(reward, on_error="skip"), answer=["4", "6"])
    assert len(reward.seen) == 1  # the batch only: no sample is retried on its own


def test_each_reward_entry_gets_its_own_key():
    from gnivo_cli.algorithms.reward_functions import reward_keys

    assert reward_keys(["math", "length"]) == ["math", "length"]  # distinct names: as before
    assert reward_keys(["reward-model", "math", "reward-model", "reward-model"]) == [
        "reward-model",
        "math",
        "reward-model#2",
        "reward-model#3",
    ]
    assert reward_keys(["a", "a", "a#2"]) == ["a", "a#3", "a#2"]  # a plugin really named a#2 keeps its name
