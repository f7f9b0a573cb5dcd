"""The protocol every reward plugin implements.

A plugin is a `Reward` subclass registered in the entry-point group `gnivo.rewards`; the entry-point
name is the name recipes and commands use. Its parameters are a dataclass (`Params`), built and
validated from the recipe before training starts.

What a reward receives is the same under `gnivo train`, `gnivo score` and `gnivo eval`: each prompt and
each completion as given, either a string or a list of chat messages (``{"role": ..., "content": ...}``).
Training and evaluation always pass chat messages (the prompt's system and user messages; the completion
as one assistant message); `gnivo score` passes what each JSONL row holds. Rewards that want text use
`as_text` (the last message), `as_messages` or `render_chat`. What a reward returns is checked by
`check_scores`, again the same everywhere.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from gnivo_cli.errors import GnivoError
from gnivo_cli.recipe.schema import describe_type, matches_type
from gnivo_cli.suggest import closest


@dataclasses.dataclass(frozen=True)
class RewardParams:
    """Base for a reward's parameters. Subclasses add fields with defaults.

    Types are checked from the annotations; override `problems` for checks on the values themselves
    (a positive timeout, a non-empty model name). Each problem names its key.
    """

    def problems(self) -> list[str]:
        """Problems with these values beyond their types, e.g. ``["'timeout' must be > 0, got -1"]``."""
        return []


class Reward(ABC):
    """A batched reward: one float per completion, or `None` where it does not apply.

    Subclasses set `description` (one line) and `Params` (a `RewardParams` dataclass), and implement
    `__call__`. Dataset columns beyond the prompt (for example `answer`) arrive as keyword lists
    aligned with `completions`; unknown columns must be accepted and ignored.
    """

    description: ClassVar[str] = ""
    Params: ClassVar[type[RewardParams]] = RewardParams
    #: Dataset columns this reward needs; `gnivo score` and recipe checks use it to name missing fields.
    required_columns: ClassVar[tuple[str, ...]] = ()
    #: Dataset columns holding what the reward grades against (a gold answer, a reference): a prompt that
    #: shows one gives the answer away, so a prompt template that renders one is refused before training
    #: (unless the recipe sets `data.allow_answer_in_prompt`) and in `gnivo eval`. A property when a
    #: parameter names the column. Read from a reward built with the recipe's params: keep construction cheap.
    graded_columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: RewardParams | None = None, *, name: str | None = None):
        self.params = params if params is not None else self.Params()
        self.name = name or type(self).__name__

    @classmethod
    def from_config(cls, config: dict[str, Any] | None, *, name: str) -> Reward:
        return cls(build_params(cls.Params, config or {}, owner=f"reward {name!r}"), name=name)

    @abstractmethod
    def __call__(
        self, prompts: list[PromptLike], completions: list[PromptLike], **columns: list[Any]
    ) -> list[float | None]:
        """Score each completion of its prompt: one finite number, or None where the reward does not apply.

        `prompts` and `completions` are strings or lists of chat messages (see the module docstring).
        """

    def metrics(self) -> dict[str, float]:
        """Counters since the last call to `metrics` (for example timeouts); logged by the trainer."""
        return {}

    def close(self) -> None:
        """Release worker processes, models or files."""

    def __enter__(self) -> Reward:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


#: A prompt or completion as a reward receives it: text, or a list of chat messages.
PromptLike = str | list[dict[str, Any]]

_ROLE_NAMES = {"user": "Human", "assistant": "Assistant", "system": "System"}


def as_messages(item: Any, role: str = "user") -> list[dict[str, str]]:
    """A prompt or completion as chat messages: a plain string is one message with `role`."""
    if isinstance(item, list | tuple):
        return [
            {"role": str(m.get("role", role)), "content": as_text(m.get("content", ""))}
            if isinstance(m, dict)
            else {"role": role, "content": as_text(m)}
            for m in item
        ]
    return [{"role": role, "content": as_text(item)}]


def render_chat(item: Any) -> str:
    """A prompt as plain text: a string as is, chat messages as "System: ...", "Human: ...", "Assistant: ..."."""
    if not isinstance(item, list | tuple):
        return as_text(item)
    turns = [f"{_ROLE_NAMES.get(m['role'], m['role'].title())}: {m['content']}" for m in as_messages(item)]
    return "\n\n".join(turns)


class RewardOutputError(GnivoError):
    """A reward returned something other than one finite number or None per completion."""

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index  #: the position of the offending value in the batch, where there is one


def check_scores(
    name: str, values: Any, count: int, where: typing.Callable[[int], str] = "sample {}".format
) -> list[float | None]:
    """A reward's output as floats and Nones, or a `RewardOutputError` naming what is wrong.

    The one check of reward outputs, shared by training, `gnivo score` and `gnivo eval`: a list (or
    tuple, or a numpy array or torch tensor) of exactly `count` values, each a finite number (not a bool)
    or None.
    """
    if not isinstance(values, list | tuple) and callable(getattr(values, "tolist", None)):
        values = values.tolist()  # numpy arrays, torch tensors
    if not isinstance(values, list | tuple):
        raise RewardOutputError(
            f"reward {name!r} returned {type(values).__name__}; expected a list of {count} numbers or None"
        )
    if len(values) != count:
        raise RewardOutputError(f"reward {name!r} returned {len(values)} values for {count} completions")
    checked: list[float | None] = []
    for index, value in enumerate(values):
        if value is None:
            checked.append(None)
            continue
        number = None
        if not isinstance(value, bool | str | bytes):
            try:
                number = float(value)  # ints, floats, numpy and 0-d torch scalars
            except (TypeError, ValueError):
                number = None
        if number is None or not math.isfinite(number):
            raise RewardOutputError(
                f"reward {name!r} returned {value!r:.60} for {where(index)}; expected a finite number or None", index
            )
        checked.append(number)
    return checked


def as_text(item: Any) -> str:
    """The text of a prompt or completion: plain text as is, a chat (list of messages) as its last message.

    trl passes conversational completions as ``[{"role": "assistant", "content": ...}]``.
    """
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        return as_text(item.get("content", ""))
    if isinstance(item, list | tuple):
        return as_text(item[-1]) if item else ""
    if isinstance(item, bytes):
        return item.decode("utf-8", errors="replace")
    return "" if item is None else str(item)


def build_params(params_cls: type[RewardParams], values: dict[str, Any], *, owner: str) -> RewardParams:
    """Build a params dataclass, with one clear error naming each unknown key or wrong type."""
    problems = param_problems(params_cls, values, owner=owner)
    if problems:
        raise GnivoError("; ".join(problems))
    return params_cls(**values)


def param_problems(params_cls: type[RewardParams], values: Any, *, owner: str) -> list[str]:
    """Every problem with `values` as parameters for `params_cls`, each naming the key."""
    if not isinstance(values, dict):
        return [f"{owner}: parameters must be a mapping, got {type(values).__name__}"]
    fields = {field.name: field for field in dataclasses.fields(params_cls)}
    hints = typing.get_type_hints(params_cls)
    problems = []
    for key, value in values.items():
        if not isinstance(key, str) or key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            match = closest(str(key), fields)
            hint = f"did you mean {match!r}? " if match else ""
            problems.append(f"{owner}: unknown parameter {key!r} ({hint}known: {known})")
        elif not matches_type(value, hints[key]):
            problems.append(f"{owner}: parameter {key!r} must be {describe_type(hints[key])}, got {value!r}")
    if problems:
        return problems
    try:
        params = params_cls(**values)
    except (TypeError, ValueError) as error:
        return [f"{owner}: {error}"]
    return [f"{owner}: {problem}" for problem in params.problems()]


class RewardCallError(GnivoError):
    """A reward raised while scoring; `index` is the first sample that raises on its own (None if none does)."""

    def __init__(self, name: str, error: BaseException, index: int | None):
        self.reward_name, self.cause, self.index = name, error, index
        super().__init__(f"reward {name!r} raised {type(error).__name__}: {error}")


OnError = typing.Literal["raise", "skip"]


def call_reward(
    reward: Reward,
    prompts: list[Any],
    completions: list[Any],
    columns: dict[str, list[Any]],
    *,
    on_error: OnError = "raise",
    where: typing.Callable[[int], str] = "sample {}".format,
) -> tuple[list[float | None], int]:
    """Call `reward` on one batch as the contract says, and check what it returns.

    Returns (scores, samples skipped). When the batch call raises, each sample is scored on its own to
    find the ones that raise: with ``on_error="raise"`` the first is named in a `RewardCallError`; with
    ``"skip"`` each becomes None and is counted. Outputs that break the contract raise a
    `RewardOutputError` either way: they are bugs in the reward, not bad samples.
    """
    count = len(completions)
    try:
        return check_scores(reward.name, reward(prompts, completions, **columns), count, where), 0
    except (RewardOutputError, KeyboardInterrupt):
        raise
    except Exception as batch_error:
        scores: list[float | None] = []
        skipped = 0
        for index in range(count):
            one = {key: values[index : index + 1] for key, values in columns.items()}
            try:
                output = reward(prompts[index : index + 1], completions[index : index + 1], **one)
                (score,) = check_scores(reward.name, output, 1, lambda _, at=index: where(at))
            except (RewardOutputError, KeyboardInterrupt):
                raise
            except Exception as error:
                if on_error == "raise":
                    raise RewardCallError(reward.name, error, index) from error
                skipped += 1
                score = None
            scores.append(score)
        if skipped == 0:  # only the whole batch fails: there is no sample to blame or skip
            raise RewardCallError(reward.name, batch_error, None) from batch_error
        return scores, skipped
