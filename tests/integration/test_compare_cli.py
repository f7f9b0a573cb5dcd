"""`gnivo compare` and `gnivo plot` from the command line: training faked, then one real grid on a tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import gnivo_cli.compare.grid
from gnivo_cli.cli import main
from tests.compare_helpers import FakeLauncher, write_recipe, write_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main([*args])
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


@pytest.fixture
def wide_console(monkeypatch):
    from gnivo_cli.console import console, err_console

    for c in (console, err_console):
        monkeypatch.setattr(c, "width", 200)


def test_compare_trains_the_grid_and_prints_the_table(tmp_path, capsys, monkeypatch, wide_console):
    launcher = FakeLauncher()
    monkeypatch.setattr(gnivo_cli.compare.grid, "launch_subprocess", launcher)
    recipe = write_recipe(tmp_path)
    out = tmp_path / "cmp"
    code, stdout, stderr = run_cli(
        capsys,
        "compare",
        str(recipe),
        "--algorithms",
        "gnivo,rloo",
        "--seeds",
        "2",
        "-o",
        str(out),
        "--threshold",
        "0.5",
    )
    assert code == 0, stderr
    assert len(launcher.calls) == 4
    assert "[4/4] rloo seed 1: trained" in stderr
    assert "gnivo" in stdout and "rloo" in stdout and "final reward" in stdout
    assert "reaches 0.500 (threshold: given)" in stdout
    assert (out / "compare.png").read_bytes()[:8] == PNG_MAGIC
    assert (out / "summary.md").is_file() and (out / "compare.json").is_file()

    # The same command again: nothing trains, the table comes back.
    launcher.calls.clear()
    code, stdout, stderr = run_cli(
        capsys, "compare", str(recipe), "--algorithms", "gnivo,rloo", "--seeds", "2", "-o", str(out)
    )
    assert code == 0 and launcher.calls == []
    assert stderr.count("finished earlier, skipped") == 4


def test_a_failed_run_exits_1_after_the_others_finish(tmp_path, capsys, monkeypatch, wide_console):
    monkeypatch.setattr(gnivo_cli.compare.grid, "launch_subprocess", FakeLauncher(fail={("gnivo", 0)}))
    out = tmp_path / "cmp"
    code, stdout, stderr = run_cli(
        capsys, "compare", str(write_recipe(tmp_path)), "-a", "gnivo,grpo", "--seeds", "1", "-o", str(out)
    )
    assert code == 1
    assert "gnivo seed 0 failed: synthetic failure" in stderr
    assert "error: 1 of 2 runs failed" in stderr and "Traceback" not in stderr
    assert "grpo" in stdout and (out / "compare.png").is_file()


def test_dry_run_lists_the_grid_and_trains_nothing(tmp_path, capsys, monkeypatch, wide_console):
    launcher = FakeLauncher()
    monkeypatch.setattr(gnivo_cli.compare.grid, "launch_subprocess", launcher)
    recipe = write_recipe(tmp_path)
    code, stdout, _ = run_cli(
        capsys, "compare", str(recipe), "-a", "grpo", "--seeds", "4,9", "--set", "training.seed=3", "--dry-run"
    )
    assert code == 0 and launcher.calls == []
    lines = stdout.strip().splitlines()
    assert len(lines) == 2 and "seed 4" in lines[0] and "seed 9" in lines[1]
    assert str(tmp_path / "runs" / "toy-compare" / "grpo" / "seed-4") in lines[0]  # default DIR
    assert "to train" in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-a", "gnivo,ppo"], "--algorithms: unknown algorithm 'ppo'"),
        (["--seeds", "x"], "--seeds: expected a count"),
        (["--set", "algorithm.alpha=-1"], "algorithm.alpha: must be > 0"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, capsys, args, message):
    code, _, stderr = run_cli(capsys, "compare", str(write_recipe(tmp_path)), *args)
    assert code == 1
    assert message in stderr and "Traceback" not in stderr


def test_plot_draws_from_compare_dirs_and_single_runs(tmp_path, capsys, wide_console):
    write_run(tmp_path / "cmp" / "gnivo" / "seed-0", "gnivo", 0, [0.1, 0.4, 0.8])
    write_run(tmp_path / "cmp" / "gnivo" / "seed-1", "gnivo", 1, [0.2, 0.5, 0.7])
    single = write_run(tmp_path / "solo-grpo", "grpo", 0, [0.1, 0.2, 0.3], finished=False)

    code, stdout, _ = run_cli(capsys, "plot", str(tmp_path / "cmp"))
    assert code == 0
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:8] == PNG_MAGIC  # default: inside the one dir
    assert "gnivo" in stdout and "grpo" not in stdout

    figure = tmp_path / "figs" / "both.png"
    code, stdout, _ = run_cli(capsys, "plot", str(tmp_path / "cmp"), str(single), "--output", str(figure))
    assert code == 0 and figure.read_bytes()[:8] == PNG_MAGIC
    assert "grpo" in stdout and "3 runs" in stdout

    code, _, stderr = run_cli(capsys, "plot", str(tmp_path / "nowhere"))
    assert code == 1 and "nowhere: no such file or directory" in stderr


@pytest.mark.slow
def test_compare_for_real_on_a_tiny_model(tmp_path, tiny_model_dir):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(
        f"model: {{name: '{tiny_model_dir}'}}\n"
        "data: {source: 'synthetic:arithmetic', synthetic: {count: 16, high: 5}}\n"
        "rewards: [{name: math}]\n"
        "algorithm: {name: gnivo, num_generations: 2, alpha: 0.5, beta: 0.1}\n"
        "generation: {max_new_tokens: 8}\n"
        f"training: {{max_steps: 2, per_device_batch_size: 4, save_steps: 1, output_dir: '{tmp_path / 'run'}'}}\n"
    )
    out = tmp_path / "cmp"
    command = [sys.executable, "-m", "gnivo_cli", "compare", str(recipe), "-a", "gnivo,grpo", "--seeds", "1"]
    command += ["-o", str(out)]
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("2 runs in "), done.stdout[:300]  # the children's output went to stderr
    for name in ("gnivo", "grpo"):
        run = out / name / "seed-0"
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in rows] == [1, 2] and rows[-1]["num_samples"] == 8
        assert json.loads((run / "summary.json").read_text())["algorithm"] == name
    assert (out / "compare.png").read_bytes()[:8] == PNG_MAGIC
    data = json.loads((out / "compare.json").read_text())
    assert [a["algorithm"] for a in data["algorithms"]] == ["gnivo", "grpo"]
    assert all(a["samples"] == 8 and a["peak_memory_mb"] > 0 for a in data["algorithms"])
    assert "| gnivo | 1 |" in (out / "summary.md").read_text()

    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0 and again.stderr.count("finished earlier, skipped") == 2
