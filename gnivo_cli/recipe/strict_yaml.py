"""Reading recipe YAML strictly: `yaml.safe_load`, plus errors for what YAML would silently accept.

A repeated key or section is an error (YAML keeps the last one without a word), and aliases (`*name`) are
refused, so a few lines cannot expand into a document that takes minutes to validate. Problems are
located at the line of the key they concern (`key_lines`, `locate`).
"""

from __future__ import annotations

from typing import Any

import yaml

from gnivo_cli.errors import RecipeError


class RecipeLoader(yaml.SafeLoader):
    """`yaml.safe_load` for recipes, stricter: a repeated key is an error rather than silently the last one
    wins, and aliases (`*name`) are refused, so a small file cannot expand into a huge document."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise StrictYAMLError(
                f"YAML aliases (*{event.anchor}) are not supported in recipes; write the value out", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, list | dict):
                raise StrictYAMLError(f"a key must be a plain value, got {key!r}", key_node.start_mark)
            if key in seen:
                raise StrictYAMLError(
                    f"duplicate key {key!r} (first at line {seen[key]}); YAML would silently keep only the last",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


class StrictYAMLError(yaml.YAMLError):
    def __init__(self, problem: str, mark: Any):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


def parse_yaml(text: str, where: str | None = None) -> Any:
    """A YAML document read with `RecipeLoader`; an error is a `RecipeError` naming `where`:line."""
    try:
        return yaml.load(text, Loader=RecipeLoader)  # a SafeLoader
    except StrictYAMLError as error:
        line = f":{error.problem_mark.line + 1}" if where and error.problem_mark else ""
        raise RecipeError([error.problem], source=f"{where}{line}" if where else None) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        location = f"{where}:{mark.line + 1}" if where and mark else where
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)  # e.g. "expected a single document in the stream"
        raise RecipeError([f"invalid YAML: {context + ', ' if context else ''}{problem}"], source=location) from None


def key_lines(text: str) -> dict[str, int]:
    """Map each dotted key path of a YAML document to its 1-based line number."""
    try:
        root = yaml.compose(text, Loader=RecipeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
                lines[path] = key_node.start_mark.line + 1
                walk(value_node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                path = f"{prefix}.{index}"
                lines[path] = item.start_mark.line + 1
                walk(item, path)

    if root is not None:
        walk(root, "")
    return lines


def locate(
    path: str, message: str, source: str | None, lines: dict[str, int] | None, overridden: set[str] | None
) -> str:
    """One problem line: `file:line: key.path: message` at the key's nearest line, or `--set key.path:`
    where the key was overridden on the command line."""
    if overridden and any(path == key or path.startswith(key + ".") for key in overridden):
        return f"--set {path}: {message}"
    line = nearest_line(path, lines or {})
    where = f"{source}:{line}" if source and line else source
    return f"{where}: {path}: {message}" if where else f"{path}: {message}"


def nearest_line(path: str, lines: dict[str, int]) -> int | None:
    """The line of `path`, else of its closest enclosing section that has one."""
    parts = path.split(".")
    while parts:
        line = lines.get(".".join(parts))
        if line:
            return line
        parts.pop()
    return None
