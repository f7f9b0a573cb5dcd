"""Type checks for values read from YAML, against dataclass type hints."""

from __future__ import annotations

import types
import typing
from typing import Any


def matches_type(value: Any, hint: Any) -> bool:
    """Whether a YAML-loaded value fits a type hint (ints are accepted for floats, bools are not numbers)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(matches_type(value, arg) for arg in typing.get_args(hint))
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
        return isinstance(value, list | tuple) and all(matches_type(v, item) for v in value)
    if hint is list or hint is tuple:
        return isinstance(value, list | tuple)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return isinstance(value, hint)


def describe_type(hint: Any) -> str:
    """A short human name for a type hint: `float`, `one of 'a', 'b'`, `int or null`."""
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe_type(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if origin in (list, tuple):
        args = typing.get_args(hint)
        if args and typing.get_origin(args[0]) is typing.Literal:
            return "a list of values from " + ", ".join(repr(a) for a in typing.get_args(args[0]))
        return f"a list of {describe_type(args[0])}" if args else "a list"
    if origin is dict or hint is dict:
        return "a mapping"
    return getattr(hint, "__name__", str(hint))
