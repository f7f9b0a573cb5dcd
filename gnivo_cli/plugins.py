"""Plugins found through entry-point groups (`gnivo.rewards`, `gnivo.benchmarks`): one way to find, list
and name them, whatever they provide.

Listing reads each plugin's source with `ast` instead of importing it: a plugin that is broken, slow to
import or heavy (torch at module level) cannot break or slow down the listing. Loading imports only the
one plugin asked for. Unknown names get a did-you-mean.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.machinery
import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from gnivo_cli.errors import GnivoError
from gnivo_cli.suggest import unknown_name


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    """One installed plugin, as the listings show it."""

    name: str  #: the name recipes and commands use (the entry-point name)
    distribution: str  #: the installed package that provides it
    version: str
    description: str  #: one line
    value: str  #: the entry point, "module:attribute"
    status: Literal["ok", "broken"] = "ok"
    error: str | None = None  #: why it is broken


class PluginGroup:
    """The plugins of one entry-point group; `kind` ("reward", "benchmark") names them in messages."""

    def __init__(self, group: str, kind: str, listing: str):
        self.group, self.kind, self.listing = group, kind, listing

    def entry_points(self) -> dict[str, importlib.metadata.EntryPoint]:
        """Entry points by name; a name claimed by two distributions is an error naming both."""
        found: dict[str, list[importlib.metadata.EntryPoint]] = {}
        for entry_point in importlib.metadata.entry_points(group=self.group):
            claims = found.setdefault(entry_point.name, [])
            if all(dist_name(other) != dist_name(entry_point) for other in claims):
                claims.append(entry_point)
        clashes = {name: claims for name, claims in found.items() if len(claims) > 1}
        if clashes:
            lines = [
                f"{self.kind} name {name!r} is registered by {len(claims)} distributions: "
                + " and ".join(f"{dist_label(ep)} ({ep.value})" for ep in claims)
                + "; uninstall one of them"
                for name, claims in sorted(clashes.items())
            ]
            raise GnivoError("\n".join(lines))
        return {name: claims[0] for name, claims in sorted(found.items())}

    def unknown(self, name: str, names: Iterable[str]) -> str:
        names = list(names)
        available = ", ".join(names) or "none installed"
        return unknown_name(self.kind, name, names, listed=f"available: {available}; see `{self.listing}`")

    def load(self, name: str, check: Callable[[Any], str | None], names: Iterable[str] | None = None) -> Any:
        """Import the object registered as `name`; `check` returns a problem with it, or None."""
        entry_points = self.entry_points()
        if name not in entry_points:
            raise GnivoError(self.unknown(name, entry_points if names is None else names))
        entry_point = entry_points[name]
        try:
            loaded = entry_point.load()
        except Exception as error:
            raise GnivoError(
                f"{self.kind} {name!r} ({dist_label(entry_point)}) failed to import: {type(error).__name__}: {error}"
            ) from error
        problem = check(loaded)
        if problem:
            raise GnivoError(f"{self.kind} {name!r} ({dist_label(entry_point)}, {entry_point.value}): {problem}")
        return loaded

    def available(self, check: Callable[[Any], str | None] | None = None) -> list[PluginInfo]:
        """Every installed plugin, sorted by name, read from source without importing it.

        A plugin whose module or attribute is missing, whose source does not parse, or whose top-level
        imports name a module that is not installed is marked broken with the reason. With `check`, each
        plugin is also imported (one at a time; a failure marks only that one broken).
        """
        entry_points = self.entry_points()
        infos = [static_info(name, entry_point) for name, entry_point in entry_points.items()]
        if check is not None:
            infos = [_checked(info, entry_points[info.name], check) for info in infos]
        return infos


def dist_name(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return dist.name if dist is not None else "?"


def dist_label(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"


def static_info(name: str, entry_point: importlib.metadata.EntryPoint) -> PluginInfo:
    dist = entry_point.dist
    info = PluginInfo(
        name=name,
        distribution=dist.name if dist is not None else "?",
        version=dist.version if dist is not None else "?",
        description="",
        value=entry_point.value,
    )
    module, attr = entry_point.module, entry_point.attr
    if not attr:
        return dataclasses.replace(info, status="broken", error="the entry point must name an object: module:attr")
    try:
        description = _static_description(module, attr)
    except _Broken as error:
        return dataclasses.replace(info, status="broken", error=str(error))
    return dataclasses.replace(info, description=description)


def _checked(info: PluginInfo, entry_point: importlib.metadata.EntryPoint, check: Callable[[Any], str | None]):
    """Import the plugin and check it; any failure marks this one plugin broken."""
    if info.status == "broken":
        return info
    try:
        loaded = entry_point.load()
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # SystemExit at import time must not stop the listing either
        return dataclasses.replace(info, status="broken", error=f"import failed: {type(error).__name__}: {error}")
    problem = check(loaded)
    return dataclasses.replace(info, status="broken", error=problem) if problem else info


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
        if _assigns(node, attr) and isinstance(node.value, ast.Call):  # NAME = Benchmark(title="...", ...)
            return _call_description(node.value)
    for node in tree.body:  # re-exported from another module
        if isinstance(node, ast.ImportFrom) and hops > 0:
            for alias in node.names:
                if (alias.asname or alias.name) == attr:
                    source = _absolute(node, module, path)
                    return _static_description(source, alias.name, hops - 1)
    raise _Broken(f"module {module!r} defines no class {attr!r} (nor any object of that name)")


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


def _assigns(node: ast.stmt, name: str) -> bool:
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    return isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name


def _call_description(call: ast.Call) -> str:
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg in ("description", "title") and isinstance(value, ast.Constant) and isinstance(value.value, str):
            return _one_line(value.value)
    return ""


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""
