"""`--set key.path=value` overrides, applied to a recipe's raw YAML data before it is validated."""

from __future__ import annotations

from typing import Any

import yaml

from gnivo_cli.errors import RecipeError
from gnivo_cli.recipe.strict_yaml import RecipeLoader, StrictYAMLError


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b.c=value` overrides; values are parsed as YAML (`0.1`, `true`, `[1, 2]`, `null`)."""
    import copy

    result = copy.deepcopy(raw)
    for override in overrides:
        key, value = parse_assignment(override, "--set", "key.path=value")
        _set_path(result, key, value, override)
    return result


def parse_assignment(item: str, option: str, form: str) -> tuple[str, Any]:
    """One `key=value` of the command line (`--set` for recipes, `--param` for `gnivo score`): the value read
    as a recipe reads it (strict YAML: no repeated keys, no aliases); text that is not YAML stays text, and
    the type check that follows says what was expected."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise RecipeError([f"{option} {item!r}: expected {form}"])
    try:
        return key, yaml.load(text, Loader=RecipeLoader)  # a SafeLoader
    except StrictYAMLError as error:
        raise RecipeError([f"{option} {item!r}: {error.problem}"]) from None
    except yaml.YAMLError:
        return key, text


def _set_path(tree: dict[str, Any], key: str, value: Any, override: str) -> None:
    parts = key.split(".")
    node: Any = tree
    for depth, part in enumerate(parts[:-1]):
        child = _child(node, part)
        if child is None:
            child = {}
            _assign(node, part, child, override)
        elif not isinstance(child, dict | list):
            where = ".".join(parts[: depth + 1])
            raise RecipeError([f"--set {override!r}: {where} is a value, not a section"])
        node = child
    _assign(node, parts[-1], value, override)


def _child(node: Any, part: str) -> Any:
    if isinstance(node, list):
        return node[int(part)] if part.isdigit() and int(part) < len(node) else None
    return node.get(part)


def _assign(node: Any, part: str, value: Any, override: str) -> None:
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise RecipeError([f"--set {override!r}: no list item {part!r}"])
        node[int(part)] = value
    else:
        node[part] = value


def override_keys(overrides: list[str]) -> set[str]:
    return {o.partition("=")[0].strip() for o in overrides}
