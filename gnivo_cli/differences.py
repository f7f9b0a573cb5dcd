"""What changed between two nested settings dicts (a recipe, an evaluation's settings), key by key."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def leaf_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Dotted key -> (old value, new value) for every leaf that differs, in key order.

    Nested dicts are compared key by key (`training.learning_rate`); lists and other values as a whole. A
    key on one side only is a change, shown as None on the side that lacks it.
    """
    flat_old, flat_new = _flatten(old), _flatten(new)
    changes = {}
    for key in sorted(flat_old.keys() | flat_new.keys()):
        before, after = flat_old.get(key, _MISSING), flat_new.get(key, _MISSING)
        if before != after:
            changes[key] = (None if before is _MISSING else before, None if after is _MISSING else after)
    return changes


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        flat.update(_flatten(value, path) if isinstance(value, dict) and value else {path: value})
    return flat
