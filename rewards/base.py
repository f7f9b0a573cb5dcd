"""The protocol every reward plugin implements.

A plugin is a `Reward` subclass registered in the entry-point group `gnivo.rewards`; the entry-point
name is the name recipes and commands use. Its parameters are a dataclass (`Params`), built and
validated from the recipe before training starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from gnivo_cli.errors import GnivoError


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

    def __init__(self, params: RewardParams | None = None, *, name: str | None = None):
        self.params = params if params is not None else self.Params()
        self.name = name or type(self).__name__

    @classmethod
    def from_config(cls, config: dict[str, Any] | None, *, name: str) -> Reward:
        return cls(build_params(cls.Params, config or {}, owner=f"reward {name!r}"), name=name)

    @abstractmethod
    def __call__(self, prompts: list[str], completions: list[str], **columns: list[Any]) -> list[float | None]:
        """Score each completion of its prompt."""

    def metrics(self) -> dict[str, float]:
        """Counters since the last call to `metrics` (for example timeouts); logged by the trainer."""
        return {}

    def close(self) -> None:
        """Release worker processes, models or files."""

    def __enter__(self) -> Reward:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(f"{owner}: unknown parameter {key!r} ({hint}known: {known})")
        elif not _matches(value, hints[key]):
            problems.append(f"{owner}: parameter {key!r} must be {_type_name(hints[key])}, got {value!r}")
    if problems:
        return problems
    try:
        params = params_cls(**values)
    except (TypeError, ValueError) as error:
        return [f"{owner}: {error}"]
    return [f"{owner}: {problem}" for problem in params.problems()]


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple):
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return isinstance(value, list | tuple) and all(_matches(v, item) for v in value)
    if hint is list or hint is tuple:
        return isinstance(value, list | tuple)
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if typing.get_origin(hint) in (list, tuple):
        args = typing.get_args(hint)
        if args and typing.get_origin(args[0]) is typing.Literal:
            return "a list of values from " + ", ".join(repr(a) for a in typing.get_args(args[0]))
        return f"a list of {_type_name(args[0])}" if args else "a list"
    return getattr(hint, "__name__", str(hint))
