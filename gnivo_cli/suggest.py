"""Did-you-mean for unknown names (recipe keys, rewards, reward params, benchmarks, algorithms, settings):
the suggestion is found and worded here, and nowhere else."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

#: How alike a name must be to a known one to be suggested (difflib's ratio).
CUTOFF = 0.6


def closest(name: str, names: Iterable[str], *, cutoff: float = CUTOFF) -> str | None:
    """The known name most like `name`, if one is close enough (difflib's ratio >= `cutoff`)."""
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(
    name: str, names: Iterable[str], *, otherwise: str = "", stands_for: Mapping[str, str] | None = None
) -> str:
    """ "; did you mean 'x'?" for the closest of `names`, else `otherwise`. With `stands_for`, what the
    closest name stands for is suggested instead (an alias suggests its benchmark)."""
    match = closest(name, names)
    if match is None:
        return otherwise
    return f"; did you mean {(stands_for or {}).get(match, match)!r}?"


def unknown_name(kind: str, name: str, names: Iterable[str], *, listed: str) -> str:
    """The whole message for an unknown name: ``unknown KIND 'name'; did you mean 'x'? (LISTED)``."""
    return f"unknown {kind} {name!r}{did_you_mean(name, names)} ({listed})"
