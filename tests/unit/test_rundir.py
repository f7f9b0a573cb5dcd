"""The run-directory layout: checkpoint names and metrics.jsonl as a crash can leave it."""

from __future__ import annotations

import pytest

from gnivo_cli import rundir
from gnivo_cli.errors import GnivoError


def test_checkpoint_names_are_parsed_and_made_in_one_place(tmp_path):
    assert rundir.checkpoint_step(tmp_path / "checkpoint-12") == 12
    assert rundir.checkpoint_step(tmp_path / "checkpoint-x") is None
    assert rundir.checkpoint_step(tmp_path / "final") is None
    assert rundir.checkpoint_step(rundir.checkpoint_dir(tmp_path, 7)) == 7
    for step in (10, 2, 9):
        rundir.checkpoint_dir(tmp_path, step).mkdir()
    (tmp_path / "checkpoint-3.tmp").mkdir()
    assert [p.name for p in rundir.checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-9", "checkpoint-10"]
    (rundir.checkpoint_dir(tmp_path, 9) / rundir.CHECKPOINT_STATE_FILE).write_text("{}")
    assert rundir.latest_checkpoint(tmp_path) == rundir.checkpoint_dir(tmp_path, 9)  # 10 was not finished
    assert rundir.incomplete_checkpoints(tmp_path) == [
        rundir.checkpoint_dir(tmp_path, 2),
        rundir.checkpoint_dir(tmp_path, 10),
    ]


def test_a_torn_last_metrics_line_is_absent(tmp_path):
    (tmp_path / rundir.METRICS_FILE).write_text('{"step": 1}\n{"step": 2, "rew')
    assert rundir.read_metrics(tmp_path) == [{"step": 1}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"step": 1}\n{oops\n', r"metrics.jsonl:2: invalid JSON"),  # a whole line, newline written: not torn
        ('{oops\n{"step": 2}\n', r"metrics.jsonl:1: invalid JSON"),
        ('{"step": 1}\n[1, 2]\n', r"metrics.jsonl:2: expected a JSON object, got list"),
    ],
)
def test_other_bad_metrics_lines_are_errors(tmp_path, text, message):
    (tmp_path / rundir.METRICS_FILE).write_text(text)
    with pytest.raises(GnivoError, match=message):
        rundir.read_metrics(tmp_path)
