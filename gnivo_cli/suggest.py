"""Did-you-mean for unknown names (recipe keys, rewards, benchmarks, algorithms, settings), in one place."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, names: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The known name most like `name`, if one is close enough (difflib's ratio >= `cutoff`)."""
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(name: str, names: Iterable[str], *, cutoff: float = 0.5) -> str:
    """ "; did you mean 'x'?" for the closest of `names`, or nothing."""
    match = closest(name, names, cutoff=cutoff)
    return f"; did you mean {match!r}?" if match else ""
