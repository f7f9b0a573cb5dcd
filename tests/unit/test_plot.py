"""The comparison figures stay readable with many runs: one colour per algorithm, one line style per setting,
small sparse markers, no empty panel, the legend outside the axes; runs of one algorithm in different
settings are told apart, not averaged as seeds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from matplotlib.colors import to_hex

from gnivo_cli.algorithms.table import ALGORITHMS
from gnivo_cli.compare.curves import compare_runs
from gnivo_cli.compare.plot import by_algorithm_figure, comparison_figure, group_styles, has_settings
from gnivo_cli.compare.run_records import find_runs, label_settings
from tests.compare_helpers import curve_for, write_run

ALGOS = ("gnivo", "gnivo-onestep", "grpo")


def _grid(root: Path, *, kl: bool = False, settings: tuple[int, ...] = (1, 2, 4)) -> Path:
    """Algorithms x num_iterations x 2 seeds, as `gnivo compare` leaves them (each setting in its own recipe)."""
    for n in settings:
        for algorithm in ALGOS:
            for seed in (0, 1):
                recipe = f"algorithm: {{name: {algorithm}, num_iterations: {n}}}\ntraining: {{seed: {seed}}}\n"
                write_run(
                    root / f"iters-{n}" / algorithm / f"seed-{seed}",
                    algorithm,
                    seed,
                    curve_for(algorithm, seed, 12 * n),
                    kl=None if kl else [None] * 12 * n,
                    samples_per_step=8 // n,
                    recipe_yaml=recipe,
                )
    return root


def _lines(axis) -> dict[str, object]:
    return {line.get_label(): line for line in axis.get_lines() if not line.get_label().startswith(("_", "threshold"))}


def test_runs_of_one_algorithm_in_different_settings_are_labelled_not_averaged(tmp_path):
    runs = label_settings(find_runs([_grid(tmp_path)]))
    names = sorted({run.algorithm for run in runs})
    assert names == sorted(f"{a} num_iterations={n}" for a in ALGOS for n in (1, 2, 4))
    comparison = compare_runs(runs)
    assert all(len(group) == 2 for group in comparison.groups.values())  # the two seeds of each setting
    assert has_settings(comparison)
    seeds_only = label_settings(find_runs([tmp_path / "iters-1"]))
    assert sorted({run.algorithm for run in seeds_only}) == sorted(ALGOS)
    assert not has_settings(compare_runs(seeds_only))


def test_nine_settings_one_colour_per_algorithm_one_style_per_setting(tmp_path):
    comparison = compare_runs(label_settings(find_runs([_grid(tmp_path)])))
    figure = comparison_figure(comparison, title="t")
    by_step = figure.axes[0]
    lines = _lines(by_step)
    assert len(lines) == 9
    for algorithm in ALGOS:
        mine = [line for label, line in lines.items() if label.split(" ")[0] == algorithm]
        assert {to_hex(line.get_color()) for line in mine} == {ALGORITHMS[algorithm].color}
        assert len({str(line.get_linestyle()) for line in mine}) == 3  # x1, x2, x4 told apart
    colors = {to_hex(line.get_color()) for line in lines.values()}
    assert len(colors) == 3  # no colour shared by two algorithms
    for setting in ("num_iterations=1", "num_iterations=2", "num_iterations=4"):
        same = [line for label, line in lines.items() if setting in label]
        assert len({(str(line.get_linestyle()), line.get_marker()) for line in same}) == 1
    for line in lines.values():
        assert line.get_markersize() <= 4
        every = line.get_markevery()  # every N-th point carries a marker
        assert isinstance(every, int) and -(-len(line.get_xdata()) // every) <= 8


def test_no_kl_panel_without_kl_and_the_legend_outside_the_axes(tmp_path):
    without = comparison_figure(compare_runs(find_runs([_grid(tmp_path / "a", settings=(1,))])))
    assert len(without.axes) == 2
    assert not any("no kl" in text.get_text() for axis in without.axes for text in axis.texts)
    with_kl = comparison_figure(compare_runs(find_runs([_grid(tmp_path / "b", kl=True, settings=(1,))])))
    assert len(with_kl.axes) == 3 and with_kl.axes[2].get_ylabel() == "KL"
    for figure in (without, with_kl):
        assert len(figure.legends) == 1 and all(axis.get_legend() is None for axis in figure.axes)
        renderer = figure.canvas.get_renderer()
        figure.canvas.draw()
        legend = figure.legends[0].get_window_extent(renderer)
        for axis in figure.axes:
            assert not legend.overlaps(axis.get_window_extent(renderer))


def test_one_panel_per_algorithm_for_small_multiples(tmp_path):
    comparison = compare_runs(label_settings(find_runs([_grid(tmp_path)])))
    figure = by_algorithm_figure(comparison)
    assert [axis.get_title() for axis in figure.axes] == list(ALGOS)
    for axis in figure.axes:
        assert sorted(_lines(axis)) == [f"num_iterations={n} (2 seeds)" for n in (1, 2, 4)]


def test_unknown_algorithms_get_colours_no_table_algorithm_has():
    styles = group_styles(["gnivo", "mine", "theirs x2", "theirs x4"])
    table = {spec.color for spec in ALGORITHMS.values()}
    assert styles["mine"].color not in table and styles["theirs x2"].color not in table
    assert styles["theirs x2"].color == styles["theirs x4"].color != styles["mine"].color
    assert styles["theirs x2"].linestyle != styles["theirs x4"].linestyle


def test_gnivo_plot_draws_the_small_multiples_when_settings_differ(tmp_path):
    _grid(tmp_path / "grid")
    done = subprocess.run(
        [sys.executable, "-m", "gnivo_cli", "plot", str(tmp_path / "grid"), "-o", str(tmp_path / "fig.png")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fig.png").is_file() and (tmp_path / "fig_by_algorithm.png").is_file()
    assert "18 runs" in done.stdout
