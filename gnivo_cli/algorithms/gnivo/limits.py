"""GN-IVO's limits on its settings, stated once: the recipe checks them with the key's file and line,
`GNIVOConfig` for library callers, the loss for direct calls. Each returns why a value is not allowed
(to follow the setting's name), or None. Light on purpose: no torch, no trl.
"""

from __future__ import annotations


def alpha_problem(alpha: float) -> str | None:
    """The target softmax(R / alpha) needs a temperature above 0."""
    return None if alpha > 0 else f"must be > 0, got {alpha}"


def group_size_problem(group_size: int | None) -> str | None:
    """K, the responses per prompt: a group needs two to compare."""
    if group_size is not None and group_size >= 2:
        return None
    return f"must be >= 2 (a group needs two responses to compare), got {group_size}"


def whole_groups_problem(batch: int, group_size: int, name: str = "num_generations") -> str | None:
    """A micro-batch holds whole groups: all K responses of a prompt meet in one loss call. `name` is what
    the caller calls K."""
    if group_size < 1 or batch % group_size == 0:
        return None
    return f"must be a multiple of {name} ({group_size}) so every group meets in one loss call, got {batch}"
