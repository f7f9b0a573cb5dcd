"""Find reward plugins through the entry-point group `gnivo.rewards`, and load them by name.

Listing (`available_rewards`) reads each plugin's source with `ast` instead of importing it: a plugin
that is broken, slow to import or heavy (torch at module level) cannot break or slow down the listing,
and recipe validation stays cheap. Loading (`load_reward`) imports only the one plugin asked for.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import importlib.machinery
import importlib.metadata
import importlib.util
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from gnivo_cli.errors import GnivoError
from rewards.base import Reward, RewardParams, param_problems

GROUP = "gnivo.rewards"


@dataclasses.dataclass(frozen=True)
class RewardInfo:
    """One installed reward, as `gnivo rewards list` shows it."""

    name: str  #: the name recipes and commands use (the entry-point name)
    distribution: str  #: the installed package that provides it
    version: str
    description: str  #: one line
    value: str  #: the entry point, "module:Class"
    status: Literal["ok", "broken"] = "ok"
    error: str | None = None  #: why it is broken


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """Entry points by name; a name claimed by two distributions is an error naming both."""
    found: dict[str, list[importlib.metadata.EntryPoint]] = {}
    for entry_point in importlib.metadata.entry_points(group=GROUP):
        claims = found.setdefault(entry_point.name, [])
        if all(_dist_name(other) != _dist_name(entry_point) for other in claims):
            claims.append(entry_point)
    clashes = {name: claims for name, claims in found.items() if len(claims) > 1}
    if clashes:
        lines = [
            f"reward name {name!r} is registered by {len(claims)} distributions: "
            + " and ".join(f"{_dist_label(ep)} ({ep.value})" for ep in claims)
            + "; uninstall one of them"
            for name, claims in sorted(clashes.items())
        ]
        raise GnivoError("\n".join(lines))
    return {name: claims[0] for name, claims in sorted(found.items())}


def _dist_name(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return dist.name if dist is not None else "?"


def _dist_label(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"


def reward_names() -> list[str]:
    return list(_entry_points())


def _unknown(name: str, names: Iterable[str]) -> str:
    names = list(names)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    available = ", ".join(names) or "none installed"
    return f"unknown reward {name!r}{hint} (available: {available}; see `gnivo rewards list`)"


# -- loading -------------------------------------------------------------------------------------------


def load_reward_class(name: str) -> type[Reward]:
    """Import the plugin registered as `name` and return its `Reward` subclass."""
    entry_points = _entry_points()
    if name not in entry_points:
        raise GnivoError(_unknown(name, entry_points))
    entry_point = entry_points[name]
    try:
        loaded = entry_point.load()
    except Exception as error:
        raise GnivoError(
            f"reward {name!r} ({_dist_label(entry_point)}) failed to import: {type(error).__name__}: {error}"
        ) from error
    problem = _class_problem(loaded)
    if problem:
        raise GnivoError(f"reward {name!r} ({_dist_label(entry_point)}, {entry_point.value}): {problem}")
    return loaded


def _class_problem(obj: Any) -> str | None:
    if not (isinstance(obj, type) and issubclass(obj, Reward)):
        return f"the entry point must name a subclass of rewards.base.Reward, got {obj!r}"
    params = getattr(obj, "Params", None)
    if not (isinstance(params, type) and issubclass(params, RewardParams) and dataclasses.is_dataclass(params)):
        return "its `Params` must be a dataclass subclassing rewards.base.RewardParams"
    return None


def load_reward(name: str, params: dict[str, Any] | None = None) -> Reward:
    """The reward registered as `name`, built with `params` (validated; each problem names its key)."""
    return load_reward_class(name).from_config(params or {}, name=name)


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
    from gnivo_cli.schema import describe_type

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


def available_rewards(*, check: bool = False) -> list[RewardInfo]:
    """Every installed reward, sorted by name, read from source without importing it.

    A plugin whose module or class is missing, whose source does not parse, or whose top-level imports
    name a module that is not installed is marked broken with the reason. With `check=True` each
    plugin is also imported (one at a time; a failure marks only that one broken).
    """
    infos = [_static_info(name, entry_point) for name, entry_point in _entry_points().items()]
    if check:
        infos = [_checked(info) for info in infos]
    return infos


def _static_info(name: str, entry_point: importlib.metadata.EntryPoint) -> RewardInfo:
    dist = entry_point.dist
    info = RewardInfo(
        name=name,
        distribution=dist.name if dist is not None else "?",
        version=dist.version if dist is not None else "?",
        description="",
        value=entry_point.value,
    )
    module, attr = entry_point.module, entry_point.attr
    if not attr:
        return dataclasses.replace(info, status="broken", error="the entry point must name a class: module:Class")
    try:
        description = _static_description(module, attr)
    except _Broken as error:
        return dataclasses.replace(info, status="broken", error=str(error))
    return dataclasses.replace(info, description=description)


class _Broken(Exception):
    pass


def _module_file(module: str) -> Path:
    """The source file of `module`, found without importing it or its parent packages."""
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # a top-level name: consults finders, imports nothing
    except (ImportError, ValueError) as error:
        raise _Broken(f"module {parts[0]!r} cannot be found: {error}") from None
    for depth in range(1, len(parts)):
        if spec is None or not spec.submodule_search_locations:
            break
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: depth + 1]), spec.submodule_search_locations)
    if spec is None:
        raise _Broken(f"module {module!r} is not installed")
    if not spec.origin or not spec.origin.endswith(".py"):
        raise _Broken(f"module {module!r} has no Python source to read (origin: {spec.origin})")
    return Path(spec.origin)


def _static_description(module: str, attr: str, hops: int = 3) -> str:
    """The class's `description` (or first docstring line), following ``from x import Class`` re-exports."""
    path = _module_file(module)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError) as error:
        raise _Broken(f"cannot read {path}: {type(error).__name__}: {error}") from None
    missing = _missing_imports(tree, module)
    if missing:
        raise _Broken(f"{module} imports {missing[0]!r}, which is not installed")
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == attr:
            return _class_description(node)
    for node in tree.body:  # re-exported from another module
        if isinstance(node, ast.ImportFrom) and hops > 0:
            for alias in node.names:
                if (alias.asname or alias.name) == attr:
                    source = _absolute(node, module, path)
                    return _static_description(source, alias.name, hops - 1)
    raise _Broken(f"module {module!r} defines no class {attr!r}")


def _absolute(node: ast.ImportFrom, module: str, path: Path) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _missing_imports(tree: ast.Module, module: str) -> list[str]:
    """Top-level absolute imports whose top package is not installed (the usual way a plugin breaks).

    Imports inside `try` or `if` blocks are optional by design and skipped.
    """
    own = module.split(".")[0]
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module != "__future__":
            names.append(node.module)
    missing = []
    for name in names:
        top = name.split(".")[0]
        if top == own:
            continue
        try:
            found = importlib.util.find_spec(top) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(top)
    return missing


def _class_description(node: ast.ClassDef) -> str:
    for statement in node.body:
        targets: list[ast.expr] = []
        value = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        names_description = any(isinstance(t, ast.Name) and t.id == "description" for t in targets)
        if names_description and isinstance(value, ast.Constant) and isinstance(value.value, str):
            return _one_line(value.value)
    docstring = ast.get_docstring(node)
    return _one_line(docstring) if docstring else ""


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""


def _checked(info: RewardInfo) -> RewardInfo:
    """Import the plugin and check its class; any failure marks this one plugin broken."""
    if info.status == "broken":
        return info
    entry_point = _entry_points()[info.name]
    try:
        loaded = entry_point.load()
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # SystemExit at import time must not stop the listing either
        return dataclasses.replace(info, status="broken", error=f"import failed: {type(error).__name__}: {error}")
    problem = _class_problem(loaded)
    return dataclasses.replace(info, status="broken", error=problem) if problem else info
