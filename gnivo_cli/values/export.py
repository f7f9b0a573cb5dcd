"""`--json FILE`: every number of a `ValuesReport`, for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from gnivo_cli.files.atomic import write_text_atomic
from gnivo_cli.values.report import ValuesReport

#: Version of the JSON layout (bumped when a field changes meaning).
FORMAT = 1


def write_json(report: ValuesReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps({"format": FORMAT, **report.to_dict()}, ensure_ascii=False, indent=1) + "\n")
    return path
