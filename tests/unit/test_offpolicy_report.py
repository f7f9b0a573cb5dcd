"""benchmarks/offpolicy.py's tables, on made-up runs (no model): tuning rows, the grid, paired differences."""

from __future__ import annotations

import dataclasses

from benchmarks.offpolicy_report import print_report
from gnivo_cli.compare.curves import compare_runs
from gnivo_cli.compare.run_records import load_run
from tests.compare_helpers import write_run


def runs(tmp_path, label: str, offsets: dict[int, float]):
    algorithm = label.partition(" x")[0]
    for seed, offset in offsets.items():
        rewards = [min(1.0, 0.1 * step + offset) for step in range(8)]
        path = write_run(tmp_path / label.replace(" ", "_") / f"seed-{seed}", algorithm, seed, rewards)
        yield dataclasses.replace(load_run(path), algorithm=label)


def test_the_report_pairs_each_setting_with_grpo_at_the_same_passes(tmp_path, capsys):
    labelled = [
        *runs(tmp_path, "gnivo x2", {0: 0.2, 1: 0.25, 2: 0.3}),
        *runs(tmp_path, "grpo x2", {0: 0.0, 1: 0.05, 2: 0.1}),
        *runs(tmp_path, "grpo-noclip x2", {0: 0.3, 1: 0.0, 2: 0.1}),
    ]
    settings = [("gnivo", 2), ("grpo", 2), ("grpo-noclip", 2)]
    comparison = compare_runs(labelled, threshold=0.5, window=1, order=[f"{a} x{n}" for a, n in settings])
    chosen = {setting: 1e-4 for setting in settings}
    print_report(comparison, [("gnivo x2", 1e-4, comparison.stats[0], True)], chosen, settings, 0.5, 1)
    out = capsys.readouterr().out
    assert "| gnivo x2 | 0.0001 * |" in out  # the tuning row marks the chosen rate
    grid = out.split("### The grid")[1].split("###")[0]
    row = next(line.split(" | ") for line in grid.splitlines() if line.startswith("| gnivo x2"))
    assert row[1:4] == ["0.0001", "3", "0.900 ± 0.050"]  # lr, seeds, final reward: 0.65 + offset
    against_grpo = out.split("Differences against grpo x2")[1].split("Differences against grpo-noclip")[0]
    gnivo = next(line for line in against_grpo.splitlines() if line.startswith("| gnivo x2"))
    # +0.2 on every seed: ahead in reward, and fewer samples to 0.5 (lower is better: also "ahead").
    assert gnivo.split(" | ")[1].startswith("+0.200") and gnivo.split(" | ")[1].endswith("ahead")
    assert "ahead (n = 3)" in gnivo.split(" | ")[3]
    noclip = next(line for line in against_grpo.splitlines() if line.startswith("| grpo-noclip x2"))
    assert noclip.split(" | ")[1].endswith("level")  # +0.3, -0.05, 0: the interval holds 0
    assert "Differences against grpo-noclip x2" in out


def test_the_report_sets_each_algorithm_at_two_passes_against_itself_at_one(tmp_path, capsys):
    labelled = [
        *runs(tmp_path, "grpo x1", {0: 0.0, 1: 0.05, 2: 0.1}),
        *runs(tmp_path, "gnivo x2", {0: 0.0, 1: 0.05, 2: 0.1}),
        *runs(tmp_path, "grpo x2", {0: 0.1, 1: 0.15, 2: 0.2}),
    ]
    settings = [("grpo", 1), ("gnivo", 2), ("grpo", 2)]
    comparison = compare_runs(labelled, threshold=0.5, window=1, order=[f"{a} x{n}" for a, n in settings])
    print_report(comparison, [], {setting: 1e-4 for setting in settings}, settings, 0.5, 1)
    passes = capsys.readouterr().out.split("### More passes against one")[1]
    rows = passes.split("|---|---|---|---|\n")[1].split("\n\n")[0].splitlines()
    assert [row.split(" | ")[0] for row in rows] == ["| grpo x2 − grpo x1"]  # gnivo has no one-pass runs here
    assert rows[0].split(" | ")[1].startswith("+0.100") and rows[0].split(" | ")[1].endswith("ahead")


def test_the_report_lists_each_run_in_setting_order(tmp_path, capsys):
    labelled = [*runs(tmp_path, "grpo x1", {1: 0.0, 0: 0.1}), *runs(tmp_path, "gnivo x1", {0: 0.2})]
    settings = [("gnivo", 1), ("grpo", 1)]
    comparison = compare_runs(labelled, threshold=0.5, window=1, order=[f"{a} x{n}" for a, n in settings])
    print_report(comparison, [], {setting: 1e-4 for setting in settings}, settings, 0.5, 1, runs=labelled)
    table = capsys.readouterr().out.split("### Each run")[1].split("|---|---|---|---|---|---|\n")[1].split("\n\n")[0]
    rows = [line.split(" | ") for line in table.splitlines()]
    assert [(row[0], row[1]) for row in rows] == [("| gnivo x1", "0"), ("| grpo x1", "0"), ("| grpo x1", "1")]
    # final reward: the mean of the last 2 of 8 logged steps, min(1, 0.1 * i + offset) at i = 6, 7
    assert [row[2] for row in rows] == ["0.85", "0.75", "0.65"]
    # reward 0.5 first at i = 3, 4, 5 (offsets 0.2, 0.1, 0.0), logged steps 4, 5, 6 of 4 samples each
    assert [row[5].rstrip(" |") for row in rows] == ["16", "20", "24"]
