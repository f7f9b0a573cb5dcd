"""Find reward plugins through the entry-point group `gnivo.rewards`, and load them by name.

Listing (`available_rewards`) reads each plugin's source without importing it, and loading
(`load_reward`) imports only the one plugin asked for: both come from `gnivo_cli.plugins`, which
benchmarks (`gnivo.benchmarks`) share.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.plugins import PluginGroup, PluginInfo
from rewards.base import Reward, RewardParams, param_problems

GROUP = "gnivo.rewards"
REWARDS = PluginGroup(GROUP, "reward", "gnivo rewards list")


# -- loading -------------------------------------------------------------------------------------------


def load_reward_class(name: str) -> type[Reward]:
    """Import the plugin registered as `name` and return its `Reward` subclass."""
    return REWARDS.load(name, _class_problem)


def _class_problem(obj: Any) -> str | None:
    if not (isinstance(obj, type) and issubclass(obj, Reward)):
        return f"the entry point must name a subclass of rewards.base.Reward, got {obj!r}"
    params = getattr(obj, "Params", None)
    if not (isinstance(params, type) and issubclass(params, RewardParams) and dataclasses.is_dataclass(params)):
        return "its `Params` must be a dataclass subclassing rewards.base.RewardParams"
    return None


def load_reward(name: str, params: dict[str, Any] | None = None, *, key: str | None = None) -> Reward:
    """The reward registered as `name`, built with `params` (validated; each problem names its key).
    `key` names it instead of `name` (its metrics, messages): `reward-model#2` for a recipe's second entry."""
    return load_reward_class(name).from_config(params or {}, name=key or name)


def reward_param_problems(name: str, params: Any) -> list[str]:
    """Every problem with `params` for reward `name` (unknown name or key, wrong type or value).

    Imports the plugin's module (to read its `Params`) but builds nothing: no model or process starts.
    """
    try:
        cls = load_reward_class(name)
    except GnivoError as error:
        return [str(error)]
    return param_problems(cls.Params, {} if params is None else params, owner=f"reward {name!r}")


def describe_params(cls: type[Reward]) -> list[tuple[str, str, str, str]]:
    """(name, type, default, help) of each parameter of a reward class, for `gnivo rewards show`.

    The help is the ``#:`` comment above the field in the source, as Sphinx reads attribute docs.
    """
    from gnivo_cli.recipe.schema import describe_type

    hints = typing.get_type_hints(cls.Params)
    helps = _field_comments(cls.Params)
    rows = []
    for field in dataclasses.fields(cls.Params):
        if field.default is not dataclasses.MISSING:
            default = repr(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = repr(field.default_factory())
        else:
            default = "(required)"
        rows.append((field.name, describe_type(hints[field.name]), default, helps.get(field.name, "")))
    return rows


def _field_comments(params_cls: type) -> dict[str, str]:
    import inspect

    try:
        lines = inspect.getsource(params_cls).splitlines()
    except (OSError, TypeError):
        return {}
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        name = stripped.split(":", 1)[0].strip()
        if pending and name.isidentifier():
            comments[name] = " ".join(pending)
        pending = []
    return comments


# -- listing without importing ---------------------------------------------------------------------------


def available_rewards(*, check: bool = False) -> list[PluginInfo]:
    """Every installed reward, sorted by name, read from source without importing it (see
    `PluginGroup.available`); with `check=True` each plugin is also imported and checked."""
    return REWARDS.available(_class_problem if check else None)
