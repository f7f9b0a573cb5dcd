"""Type checks for values read from YAML, against dataclass type hints."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
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
    if dataclasses.is_dataclass(hint):
        return "a mapping"
    if origin in (list, tuple):
        args = typing.get_args(hint)
        if args and typing.get_origin(args[0]) is typing.Literal:
            return "a list of values from " + ", ".join(repr(a) for a in typing.get_args(args[0]))
        return f"a list of {describe_type(args[0])}" if args else "a list"
    if origin is dict or hint is dict:
        return "a mapping"
    return getattr(hint, "__name__", str(hint))


@dataclass(frozen=True)
class Bounds:
    """The allowed range of a recipe value, declared on its dataclass field with `bounded(...)`."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    nonempty: bool = False  # for strings and lists

    def problem(self, value: Any) -> str | None:
        """Why `value` (already of the right type) is out of range, or None."""
        empty = not (value.strip() if isinstance(value, str) else value)
        if self.nonempty and isinstance(value, str | list | tuple) and empty:
            return "must not be empty"
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        low_ok = (self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
        high_ok = (self.le is None or value <= self.le) and (self.lt is None or value < self.lt)
        return None if low_ok and high_ok else f"must be {self.describe()}, got {value!r}"

    def describe(self) -> str:
        low = high = None
        if self.ge is not None or self.gt is not None:
            low = f"[{_number(self.ge)}" if self.ge is not None else f"({_number(self.gt)}"
        if self.le is not None or self.lt is not None:
            high = f"{_number(self.le)}]" if self.le is not None else f"{_number(self.lt)})"
        if low and high:
            return f"in {low}, {high}"
        if low:
            return (">= " if low[0] == "[" else "> ") + low[1:]
        if high:
            return ("<= " if high[-1] == "]" else "< ") + high[:-1]
        return "any value"


def _number(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def bounds(**limits: Any) -> dict[str, Bounds]:
    """Field metadata declaring a value's range: `field(default=1.0, metadata=bounds(gt=0))`."""
    return {BOUNDS: Bounds(**limits)}


BOUNDS = "gnivo.bounds"


def value_problem(value: Any, spec: dataclasses.Field | None = None) -> str | None:
    """Why a value of the right type is still not allowed: not finite, or outside its field's bounds."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value!r}"
    bounds = spec.metadata.get(BOUNDS) if spec is not None else None
    return bounds.problem(value) if bounds is not None else None


def type_problem(value: Any, hint: Any) -> str:
    """The message for a value of the wrong type, with a hint where YAML read a number as text."""
    if value is None:  # YAML's null, also from an empty value (`key:`); the same in a file and in --set
        return f"must be {describe_type(hint)}, got null; leave the key out to keep its default"
    message = f"must be {describe_type(hint)}, got {value!r}"
    if isinstance(value, str) and _wants_float(hint):
        try:
            number = float(value)
        except ValueError:
            return message
        if not math.isfinite(number):
            return message
        mantissa, _, exponent = value.strip().lower().partition("e")
        if exponent:  # YAML 1.1 floats need a dot in the mantissa and a sign in the exponent
            mantissa = mantissa if "." in mantissa else f"{mantissa}.0"
            exponent = exponent if exponent[:1] in ("+", "-") else f"+{exponent}"
            return f"{message} (YAML reads {value} as text; write {mantissa}e{exponent})"
        return f"{message} (YAML reads it as text; write {number!r})"
    return message


def _wants_float(hint: Any) -> bool:
    if hint is float:
        return True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_wants_float(arg) for arg in typing.get_args(hint))
    return False
