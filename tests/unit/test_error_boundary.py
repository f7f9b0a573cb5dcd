"""The CLI's error boundary and output-path checks: one line, exit 1, `--debug` shows the traceback."""

from __future__ import annotations

import pytest

import gnivo_cli.cli as cli
from gnivo_cli.errors import GnivoError
from gnivo_cli.files.paths import check_output_dir, check_output_file


def _run(monkeypatch, capsys, error: BaseException, *args: str) -> tuple[int, str]:
    def app(args, prog_name):
        raise error

    monkeypatch.setattr(cli, "app", app)
    monkeypatch.setitem(cli._state, "debug", False)
    with pytest.raises(SystemExit) as info:
        cli.main(list(args))
    return info.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (GnivoError("r.yaml:3: training.seed: must be >= 0"), "error: r.yaml:3: training.seed: must be >= 0"),
        (PermissionError(13, "Permission denied", "/runs/x"), "error: Permission denied: /runs/x"),
        (ValueError("bad\nvalue"), "error: internal error (ValueError: bad); rerun with --debug for the traceback"),
    ],
)
def test_errors_are_one_line_and_exit_1(monkeypatch, capsys, error, line):
    code, err = _run(monkeypatch, capsys, error, "train", "r.yaml")
    assert code == 1 and err.strip() == line


def test_debug_shows_the_traceback(monkeypatch):
    def app(args, prog_name):
        raise ValueError("bug")

    monkeypatch.setattr(cli, "app", app)
    monkeypatch.setitem(cli._state, "debug", False)  # restored after main() turns it on
    with pytest.raises(ValueError, match="bug"):
        cli.main(["--debug", "train", "r.yaml"])


def test_output_paths(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    check_output_dir(tmp_path / "new" / "run", "-o")
    with pytest.raises(GnivoError, match="is a file, not a directory"):
        check_output_dir(a_file, "-o")
    with pytest.raises(GnivoError, match=r"a-file is a file, not a directory$"):
        check_output_dir(a_file / "run", "-o")
    check_output_file(tmp_path / "plots" / "x.png", "-o", {"png": "Portable Network Graphics"})
    with pytest.raises(GnivoError, match=r"unsupported file type '\.xyz'; use one of \.pdf, \.png$"):
        check_output_file(tmp_path / "x.xyz", "-o", {"png": "", "pdf": ""})
    with pytest.raises(GnivoError, match="is a directory"):
        check_output_file(tmp_path, "-o", {"png": ""})
