"""How gnivo calls a reward, the one way `gnivo train`, `gnivo score` and `gnivo eval` share: the columns it
needs are checked first, its output is checked (`rewards.base.check_scores`), and a batch that raises is
retried sample by sample to name (or, with ``on_error: skip``, to skip) the samples that raise.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from gnivo_cli.errors import GnivoError, Interrupted
from rewards.base import Assessment, Precision, Reward, RewardConfigError, RewardOutputError, check_scores


def missing_columns(reward: Reward, columns: typing.Iterable[str]) -> list[str]:
    """The reward's `required_columns` that are not among `columns`."""
    present = set(columns)
    return [name for name in reward.required_columns if name not in present]


def check_columns(reward: Reward, columns: typing.Iterable[str], *, where: str = "the data") -> None:
    """A `RewardConfigError` naming the first column the reward needs that `columns` lacks."""
    present = sorted(set(columns))
    missing = missing_columns(reward, present)
    if missing:
        raise RewardConfigError(
            f"reward {reward.name!r} needs the column {missing[0]!r}, which {where} lacks "
            f"(columns: {', '.join(present) or 'none'})"
        )


class RewardCallError(GnivoError):
    """A reward raised while scoring; `index` is the first sample that raises on its own (None if none does)."""

    def __init__(self, name: str, error: BaseException, index: int | None):
        self.reward_name, self.cause, self.index = name, error, index
        super().__init__(f"reward {name!r} raised {type(error).__name__}: {error}")


class RewardExited(GnivoError):
    """A reward called sys.exit (or raised SystemExit): a bug in the reward, whichever sample it was on."""

    def __init__(self, name: str, code: Any):
        super().__init__(
            f"reward {name!r} called sys.exit({code!r}); a reward returns its scores, or raises an exception for a "
            "sample it cannot score"
        )


class RewardInterrupted(Interrupted):
    """KeyboardInterrupt while a reward was scoring: Ctrl-C, or the reward raised it itself."""

    def __init__(self, name: str):
        super().__init__(f"interrupted while reward {name!r} was scoring (Ctrl-C, or a KeyboardInterrupt it raised)")


OnError = typing.Literal["raise", "skip"]


def call_reward(
    reward: Reward,
    prompts: list[Any],
    completions: list[Any],
    columns: dict[str, list[Any]],
    *,
    on_error: OnError = "raise",
    where: typing.Callable[[int], str] = "sample {}".format,
    assess: bool = False,
    precision: Precision = "float64",
) -> tuple[list[Assessment], int]:
    """Call `reward` on one batch as the contract says, and check what it returns.

    Returns (assessments, samples skipped): each checked score, with what the reward found in the
    completion when `assess` asks `Reward.assess` (as `gnivo eval` does) rather than calling the reward.
    When the batch call raises, each sample is scored on its own to find the ones that raise: with
    ``on_error="raise"`` the first is named in a `RewardCallError`; with ``"skip"`` each becomes None and is
    counted. Outputs that break the contract raise a `RewardOutputError` either way, and a missing column a
    `RewardConfigError`: they are bugs in the reward or its configuration, not bad samples. Scores must be
    finite in `precision` (training keeps float32). A reward that calls sys.exit raises `RewardExited`, a
    KeyboardInterrupt during the call `RewardInterrupted`: both name the reward.
    """
    check_columns(reward, columns)
    try:
        return _call(reward, prompts, completions, columns, on_error, where, assess, precision)
    except SystemExit as error:
        raise RewardExited(reward.name, error.code) from None
    except KeyboardInterrupt:
        raise RewardInterrupted(reward.name) from None


def _call(
    reward: Reward,
    prompts: list[Any],
    completions: list[Any],
    columns: dict[str, list[Any]],
    on_error: OnError,
    where: typing.Callable[[int], str],
    assess: bool,
    precision: Precision,
) -> tuple[list[Assessment], int]:
    method = reward.assess if assess else reward
    count = len(completions)
    try:
        return _checked(reward.name, method(prompts, completions, **columns), count, where, precision), 0
    except (RewardOutputError, RewardConfigError):
        raise
    except Exception as batch_error:
        assessed: list[Assessment] = []
        skipped = 0
        for index in range(count):
            one = {key: values[index : index + 1] for key, values in columns.items()}
            try:
                output = method(prompts[index : index + 1], completions[index : index + 1], **one)
                (assessment,) = _checked(reward.name, output, 1, lambda _, at=index: where(at), precision)
            except (RewardOutputError, RewardConfigError):
                raise
            except Exception as error:
                if on_error == "raise":
                    raise RewardCallError(reward.name, error, index) from error
                skipped += 1
                assessment = Assessment(None)
            assessed.append(assessment)
        if skipped == 0:  # only the whole batch fails: there is no sample to blame or skip
            raise RewardCallError(reward.name, batch_error, None) from batch_error
        return assessed, skipped


def _checked(
    name: str, output: Any, count: int, where: typing.Callable[[int], str], precision: Precision = "float64"
) -> list[Assessment]:
    """What a reward or its `assess` returned, as checked assessments (scores by `check_scores`)."""
    if isinstance(output, list | tuple) and output and all(isinstance(item, Assessment) for item in output):
        scores = check_scores(name, [item.score for item in output], count, where, precision=precision)
        return [dataclasses.replace(item, score=score) for item, score in zip(output, scores, strict=True)]
    return [Assessment(score) for score in check_scores(name, output, count, where, precision=precision)]
