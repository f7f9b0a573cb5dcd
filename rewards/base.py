"""The protocol every reward plugin implements.

A plugin is a `Reward` subclass registered in the entry-point group `gnivo.rewards`; the entry-point
name is the name recipes and commands use. Its parameters are a dataclass (`Params`), built and
validated from the recipe before training starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from gnivo_cli.errors import GnivoError
from gnivo_cli.schema import describe_type, matches_type


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
        elif not matches_type(value, hints[key]):
            problems.append(f"{owner}: parameter {key!r} must be {describe_type(hints[key])}, got {value!r}")
    if problems:
        return problems
    try:
        params = params_cls(**values)
    except (TypeError, ValueError) as error:
        return [f"{owner}: {error}"]
    return [f"{owner}: {problem}" for problem in params.problems()]
