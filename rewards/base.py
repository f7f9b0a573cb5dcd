"""The protocol every reward plugin implements.

A plugin is a `Reward` subclass registered in the entry-point group `gnivo.rewards`; the entry-point
name is the name recipes and commands use. Its parameters are a dataclass (`Params`), built and
validated from the recipe before training starts.

What a reward receives is the same under `gnivo train`, `gnivo score` and `gnivo eval`: each prompt and
each completion as given, either a string or a list of chat messages (``{"role": ..., "content": ...}``).
Training and evaluation always pass chat messages (the prompt's system and user messages; the completion
as one assistant message); `gnivo score` passes what each JSONL row holds. Rewards that want text use
`as_text` (the last message), `as_messages` or `render_chat`. What a reward returns is checked by
`check_scores`, again the same everywhere. `gnivo eval` asks `Reward.assess` instead of calling the reward:
the same scores, with the answer the reward found in each completion where it finds one (the `math`
reward does), which eval records beside each sample.

A reward that cannot run on the data it was given (a column it needs is missing) raises
`RewardConfigError`: that stops a run at once, whatever `on_error` says, since no sample can be scored.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import typing
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from gnivo_cli.errors import GnivoError
from gnivo_cli.recipe.schema import matches_type, type_problem
from gnivo_cli.suggest import unknown_name


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

    def assess(
        self, prompts: list[PromptLike], completions: list[PromptLike], **columns: list[Any]
    ) -> list[Assessment]:
        """Each completion's score with what the reward found in it, for `gnivo eval`'s samples.

        The same inputs and scores as calling the reward; override it to also give the answer a
        completion states (`Assessment.answer`) and details worth keeping with the sample.
        """
        return [Assessment(score) for score in self(prompts, completions, **columns)]

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


@dataclasses.dataclass(frozen=True)
class Assessment:
    """One completion's score, with what the reward found in it (`Reward.assess`)."""

    score: float | None
    #: the final answer the completion states, as the reward read it (None: none found, or not a reward that reads one)
    answer: str | None = None
    #: anything else worth keeping with the sample, as JSON values (the `math` reward: answer_source, timed_out)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


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


#: The largest magnitude each precision holds: a reward must stay finite in the one its consumer uses.
LARGEST = {"float64": sys.float_info.max, "float32": 3.4028234663852886e38}
Precision = typing.Literal["float64", "float32"]


def check_scores(
    name: str,
    values: Any,
    count: int,
    where: typing.Callable[[int], str] = "sample {}".format,
    *,
    precision: Precision = "float64",
) -> list[float | None]:
    """A reward's output as floats and Nones, or a `RewardOutputError` naming what is wrong.

    The one check of reward outputs, shared by training, `gnivo score` and `gnivo eval`: a list (or
    tuple, or a numpy array or torch tensor) of exactly `count` values, each a finite number (not a bool)
    or None. Finite in `precision`: `gnivo score` and `gnivo eval` keep float64; training holds rewards in
    float32 (trl's reward tensor), where 1e300 would be inf and poison the step.
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
        if abs(number) > LARGEST[precision]:
            raise RewardOutputError(
                f"reward {name!r} returned {number:g} for {where(index)}, beyond the {LARGEST[precision]:.3g} that "
                f"{precision} holds (training keeps rewards in {precision}); scale the reward down",
                index,
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
            problems.append(f"{owner}: {unknown_name('parameter', str(key), fields, listed=f'known: {known}')}")
        elif not matches_type(value, hints[key]):
            problems.append(f"{owner}: parameter {key!r} {type_problem(value, hints[key])}")
    if problems:
        return problems
    try:
        params = params_cls(**values)
    except (TypeError, ValueError) as error:
        return [f"{owner}: {error}"]
    return [f"{owner}: {problem}" for problem in params.problems()]


class RewardConfigError(GnivoError):
    """A reward cannot run on the data it was given (a missing column): a configuration error, not a bad sample."""
