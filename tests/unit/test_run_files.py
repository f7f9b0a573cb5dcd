"""The run-directory layout: checkpoint names and metrics.jsonl as a crash can leave it."""

from __future__ import annotations

import pytest

from gnivo_cli.errors import GnivoError
from gnivo_cli.training import run_files


def test_checkpoint_names_are_parsed_and_made_in_one_place(tmp_path):
    assert run_files.checkpoint_step(tmp_path / "checkpoint-12") == 12
    assert run_files.checkpoint_step(tmp_path / "checkpoint-x") is None
    assert run_files.checkpoint_step(tmp_path / "final") is None
    assert run_files.checkpoint_step(run_files.checkpoint_dir(tmp_path, 7)) == 7
    for step in (10, 2, 9):
        run_files.checkpoint_dir(tmp_path, step).mkdir()
    (tmp_path / "checkpoint-3.tmp").mkdir()
    assert [p.name for p in run_files.checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-9", "checkpoint-10"]
    (run_files.checkpoint_dir(tmp_path, 9) / run_files.CHECKPOINT_STATE_FILE).write_text("{}")
    assert run_files.latest_checkpoint(tmp_path) == run_files.checkpoint_dir(tmp_path, 9)  # 10 was not finished
    assert run_files.incomplete_checkpoints(tmp_path) == [
        run_files.checkpoint_dir(tmp_path, 2),
        run_files.checkpoint_dir(tmp_path, 10),
    ]


def test_a_torn_last_metrics_line_is_absent(tmp_path):
    (tmp_path / run_files.METRICS_FILE).write_text('{"step": 1}\n{"step": 2, "rew')
    assert run_files.read_metrics(tmp_path) == [{"step": 1}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"step": 1}\n{oops\n', r"metrics.jsonl:2: invalid JSON"),  # a whole line, newline written: not torn
        ('{oops\n{"step": 2}\n', r"metrics.jsonl:1: invalid JSON"),
        ('{"step": 1}\n[1, 2]\n', r"metrics.jsonl:2: expected a JSON object, got list"),
    ],
)
def test_other_bad_metrics_lines_are_errors(tmp_path, text, message):
    (tmp_path / run_files.METRICS_FILE).write_text(text)
    with pytest.raises(GnivoError, match=message):
        run_files.read_metrics(tmp_path)


def test_one_reading_of_a_torn_last_line(tmp_path):
    from gnivo_cli.files.jsonl import complete_lines, iter_jsonl

    assert complete_lines(b'{"a": 1}\n{"a": 2}\n{"a"') == b'{"a": 1}\n{"a": 2}\n'
    assert complete_lines('{"a": 1}\n{"a"') == '{"a": 1}\n'
    assert complete_lines(b'{"a"') == b""
    path = tmp_path / "rows.jsonl"
    path.write_bytes('{"a": 1}\n{"a": "\u00e9"}\n{"a": "\u00e9'.encode()[:-1])  # torn inside a character
    assert [row for _, row in iter_jsonl(path, torn_tail_ok=True)] == [{"a": 1}, {"a": "\u00e9"}]
    with pytest.raises(GnivoError, match=r"rows.jsonl:3: not valid UTF-8"):
        list(iter_jsonl(path))
    path.write_text('{"a": 1}\n{"a": 2}')  # a complete last line without its newline is a row
    assert [row for _, row in iter_jsonl(path, torn_tail_ok=True)] == [{"a": 1}, {"a": 2}]
    path.write_text('{"a": 1}\n{"a\n{"a": 3}\n')  # only the last line can be torn
    with pytest.raises(GnivoError, match=r"rows.jsonl:2: invalid JSON"):
        list(iter_jsonl(path, torn_tail_ok=True))


def test_one_reader_of_json_object_files(tmp_path):
    from gnivo_cli.errors import ModelNotFoundError
    from gnivo_cli.files.json_file import read_json_object

    path = tmp_path / "summary.json"
    assert read_json_object(path) is None  # missing
    path.write_text('{"steps": 3}')
    assert read_json_object(path) == {"steps": 3}
    for text, problem in (('{"steps": 3', "not valid JSON"), ("[1, 2]", "expected a JSON object, got list")):
        path.write_text(text)
        with pytest.raises(GnivoError, match=f"summary.json: {problem}"):
            read_json_object(path)
        with pytest.raises(ModelNotFoundError):
            read_json_object(path, error=ModelNotFoundError)
        assert read_json_object(path, invalid="none") is None
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(GnivoError, match=r"summary\.json: not valid JSON"):
        read_json_object(path)
