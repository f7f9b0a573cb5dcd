"""Reading a JSON object file (summary.json, results.json, a checkpoint's state, an adapter's config): the
one reader, whose errors name the file. Written by `files.atomic.write_json_atomic`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from gnivo_cli.errors import GnivoError


def read_json_object(
    path: Path, *, invalid: Literal["raise", "none"] = "raise", error: type[GnivoError] = GnivoError
) -> dict[str, Any] | None:
    """The object a JSON file holds; None where the file is missing.

    A file that is not UTF-8 JSON holding an object raises `error` naming it, or gives None with
    ``invalid="none"`` (a file the program can do without, such as a checkpoint's counters).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
        if invalid == "none":
            return None
        detail = problem.msg if isinstance(problem, json.JSONDecodeError) else str(problem)
        raise error(f"{path}: not valid JSON ({detail})") from None
    if isinstance(data, dict):
        return data
    if invalid == "none":
        return None
    raise error(f"{path}: expected a JSON object, got {type(data).__name__}")
