"""`gnivo compare` as a library: the grid loop (training faked), aggregation over seeds, the outputs."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import yaml

from gnivo_cli.algorithms.table import ALGORITHMS
from gnivo_cli.compare.curves import compare_runs, curve, final_reward, reward_auc, smooth
from gnivo_cli.compare.grid import RunFailed, launch_subprocess, run_compare
from gnivo_cli.compare.plan import parse_algorithms, parse_seeds, plan_runs, run_dir, run_recipe_dict
from gnivo_cli.compare.plot import plot_comparison
from gnivo_cli.compare.run_records import find_runs, load_run
from gnivo_cli.compare.table import TABLE_HEADERS, summary_markdown, table_rows
from gnivo_cli.errors import GnivoError
from gnivo_cli.recipe.loader import load_recipe, recipe_from_dict
from tests.compare_helpers import FakeLauncher, curve_for, write_recipe, write_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def base(tmp_path):
    return load_recipe(write_recipe(tmp_path))


# ---- arguments ---------------------------------------------------------------------------------------


def test_parse_algorithms_keeps_order_and_names_the_typo():
    assert parse_algorithms("grpo, gnivo,grpo") == ["grpo", "gnivo"]
    with pytest.raises(GnivoError, match="did you mean 'rloo'"):
        parse_algorithms("gnivo,rlo")
    with pytest.raises(GnivoError, match="--algorithms"):
        parse_algorithms(" , ")


def test_parse_seeds_counts_from_the_recipe_seed_or_takes_a_list():
    assert parse_seeds("3", base=10) == [10, 11, 12]
    assert parse_seeds("0,5,5,7", base=10) == [0, 5, 7]
    assert parse_seeds("100", base=None) == [100]  # a tuning seed, not a hundred of them
    for bad in ("0", "three", "1,x"):
        with pytest.raises(GnivoError, match="--seeds"):
            parse_seeds(bad, base=0)
    with pytest.raises(GnivoError, match=r"^--tuning-seeds: expected"):
        parse_seeds("1,x", base=None, flag="--tuning-seeds")


def test_each_algorithm_gets_a_valid_recipe_with_the_same_budget(base, tmp_path):
    recipes = {
        name: recipe_from_dict(run_recipe_dict(base, name, 7, tmp_path / name), source=base.source)
        for name in ALGORITHMS
    }
    for name, recipe in recipes.items():
        assert recipe.algorithm.name == name
        assert recipe.training.seed == 7
        assert recipe.training.output_dir == str(tmp_path / name)
        assert (recipe.algorithm.num_generations, recipe.training.max_steps) == (2, 8)
    assert recipes["gnivo"].algorithm.alpha == 0.3  # the recipe's GN-IVO settings reach GN-IVO
    # The baselines drop GN-IVO-only keys (the recipe would be rejected with them).
    assert "alpha" not in run_recipe_dict(base, "grpo", 0, tmp_path)["algorithm"]
    assert "prefix" not in run_recipe_dict(base, "gnivo-onestep", 0, tmp_path)["algorithm"]


# ---- the grid loop -----------------------------------------------------------------------------------


def test_compare_trains_every_algorithm_and_seed_and_writes_the_outputs(base, tmp_path):
    out = tmp_path / "cmp"
    launcher = FakeLauncher()
    result = run_compare(base, ["gnivo", "grpo"], [0, 1], out, launcher=launcher)

    # Seed by seed, so a grid stopped midway still has every algorithm.
    assert launcher.calls == [("gnivo", 0, False), ("grpo", 0, False), ("gnivo", 1, False), ("grpo", 1, False)]
    assert [o.status for o in result.outcomes] == ["trained"] * 4
    for name in ("gnivo", "grpo"):
        for seed in (0, 1):
            assert (out / name / f"seed-{seed}" / "summary.json").is_file()
    assert (out / "compare.png").read_bytes()[:8] == PNG_MAGIC
    summary = (out / "summary.md").read_text()
    assert "| gnivo | 2 |" in summary and "| grpo | 2 |" in summary
    assert "last quarter" in summary and "![learning curves](compare.png)" in summary
    data = json.loads((out / "compare.json").read_text())
    assert [a["algorithm"] for a in data["algorithms"]] == ["gnivo", "grpo"]
    gnivo, grpo = data["algorithms"]
    assert gnivo["final_reward"] > grpo["final_reward"]  # the fake curves: gnivo learns faster
    assert gnivo["steps_to_threshold"] < grpo["steps_to_threshold"]
    assert gnivo["samples"] == 8 * 4  # 8 steps of 4 completions
    assert result.files == [out / "compare.png", out / "summary.md", out / "compare.json"]


def test_a_failed_run_is_reported_and_the_rest_go_on(base, tmp_path):
    out = tmp_path / "cmp"
    launcher = FakeLauncher(fail={("grpo", 0)})
    result = run_compare(base, ["gnivo", "grpo", "rloo"], [0], out, launcher=launcher)
    assert [o.status for o in result.outcomes] == ["trained", "failed", "trained"]
    assert [o.run.algorithm for o in result.failures] == ["grpo"]
    assert "reward server unreachable" in result.failures[0].error
    summary = (out / "summary.md").read_text()
    assert "| rloo | 1 |" in summary and "| grpo |" not in summary
    assert "failed: grpo seed 0: synthetic failure" in summary
    assert json.loads((out / "compare.json").read_text())["failed"][0]["algorithm"] == "grpo"


def test_an_unexpected_exception_is_a_failure_too(base, tmp_path):
    def broken(run, resume):
        raise RuntimeError("CUDA error: device-side assert")

    result = run_compare(base, ["gnivo"], [0], tmp_path / "cmp", launcher=broken)
    assert result.failures[0].error == "RuntimeError: CUDA error: device-side assert"
    assert result.comparison is None and not (tmp_path / "cmp" / "compare.png").exists()


def test_a_rerun_skips_finished_runs_and_retries_failed_ones(base, tmp_path):
    out = tmp_path / "cmp"
    run_compare(base, ["gnivo", "grpo"], [0], out, launcher=FakeLauncher(fail={("grpo", 0)}))
    (out / "compare.png").unlink()
    again = FakeLauncher()
    result = run_compare(base, ["gnivo", "grpo"], [0], out, launcher=again)
    assert again.calls == [("grpo", 0, False)]  # the failed run left no checkpoint: restarted from scratch
    assert [o.status for o in result.outcomes] == ["skipped", "trained"]
    assert (out / "compare.png").is_file()
    third = FakeLauncher()
    result = run_compare(base, ["gnivo", "grpo"], [0], out, launcher=third)
    assert third.calls == [] and {o.status for o in result.outcomes} == {"skipped"}
    assert "| grpo | 1 |" in (out / "summary.md").read_text()


def test_an_interrupted_run_resumes_from_its_checkpoint(base, tmp_path):
    out = tmp_path / "cmp"
    path = run_dir(out, "gnivo", 0)
    recipe = recipe_from_dict(run_recipe_dict(base, "gnivo", 0, path), source=base.source)
    write_run(path, "gnivo", 0, [0.1, 0.2], finished=False, recipe_yaml=recipe.to_yaml())
    (path / "checkpoint-2").mkdir()
    seen = []

    def launcher(run, resume):
        seen.append((resume, sorted(p.name for p in run.path.iterdir())))
        write_run(run.path, run.algorithm, run.seed, [0.1, 0.2, 0.3], recipe_yaml=run.recipe.to_yaml())

    plan = plan_runs(base, ["gnivo"], [0], out)
    assert plan[0].state == "resume"
    result = run_compare(base, ["gnivo"], [0], out, launcher=launcher)
    assert seen == [(True, ["checkpoint-2", "metrics.jsonl", "recipe.yaml"])]
    assert result.outcomes[0].status == "resumed"


def test_a_rerun_with_a_changed_recipe_is_refused_before_training(base, tmp_path):
    out = tmp_path / "cmp"
    run_compare(base, ["gnivo"], [0], out, launcher=FakeLauncher())
    changed = base.with_overrides(["training.learning_rate=0.5"])
    launcher = FakeLauncher()
    with pytest.raises(GnivoError, match=r"different recipe \(training.learning_rate: 1e-05 -> 0.5\)"):
        run_compare(changed, ["gnivo"], [0], out, launcher=launcher)
    assert launcher.calls == []


def test_a_run_recorded_before_a_recipe_key_existed_still_matches(base, tmp_path):
    out = tmp_path / "cmp"
    run_compare(base, ["gnivo"], [0], out, launcher=FakeLauncher())
    recorded = out / "gnivo" / "seed-0" / "recipe.yaml"
    old = yaml.safe_load(recorded.read_text())
    del old["generation"]["vllm_server_timeout"]  # as a version without that key wrote it
    recorded.write_text(yaml.safe_dump(old))
    assert plan_runs(base, ["gnivo"], [0], out)[0].state == "finished"
    old["generation"]["vllm_server_timeout"] = 5.0  # a value other than the default is a different experiment
    recorded.write_text(yaml.safe_dump(old))
    with pytest.raises(GnivoError, match=r"generation.vllm_server_timeout: 5.0 -> 240.0"):
        plan_runs(base, ["gnivo"], [0], out)


def test_the_training_process_trains_the_run_recipe(base, tmp_path, monkeypatch):
    # launch_subprocess's own payload, read by the child's own entry point, run here instead of in a new
    # process (training itself recorded, not run).
    import sys

    import gnivo_cli.compare.grid as grid
    import gnivo_cli.training.train

    calls = []
    monkeypatch.setattr(
        gnivo_cli.training.train, "train", lambda recipe, resume=False, console=None: calls.append((recipe, resume))
    )

    def child(command, stdout=None):
        assert stdout == 2  # the child's own prints go to stderr, out of a report printed on stdout
        monkeypatch.setattr(sys, "argv", ["-c", command[-1]])
        grid._child_main()
        return 0

    monkeypatch.setattr(grid.subprocess, "call", child)
    run = plan_runs(base, ["rloo"], [3], tmp_path / "cmp")[0]
    launch_subprocess(run, True)
    assert calls == [(run.recipe, True)]
    assert calls[0][0].algorithm.name == "rloo" and calls[0][0].training.seed == 3


def test_the_training_process_reports_a_bad_recipe_as_a_failure(base, tmp_path):
    # The real subprocess path: the child rebuilds the recipe, fails validation, and says why.
    run = plan_runs(base, ["gnivo"], [0], tmp_path / "cmp")[0]
    run.raw["training"]["max_steps"] = 0
    with pytest.raises(RunFailed, match=r"training.max_steps: must be >= 1"):
        launch_subprocess(run, False)


# ---- aggregation -------------------------------------------------------------------------------------


def test_final_reward_is_the_mean_of_the_last_quarter_and_auc_the_mean_over_training(tmp_path):
    run = load_run(write_run(tmp_path / "r", "gnivo", 0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 0.6]))
    assert final_reward(run) == pytest.approx((1.0 + 0.6) / 2)  # last 2 of 8 steps
    # Trapezoid over steps 1..8 divided by the 7 steps spanned.
    rewards = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 0.6]
    area = sum((a + b) / 2 for a, b in itertools.pairwise(rewards))
    assert reward_auc(run) == pytest.approx(area / 7)
    short = load_run(write_run(tmp_path / "s", "gnivo", 0, [0.3, 0.5]))
    assert final_reward(short) == 0.5  # at least one step


def test_seeds_give_mean_and_std_and_the_threshold_defaults_to_midway(tmp_path):
    write_run(tmp_path / "a" / "s0", "gnivo", 0, [0.0, 0.4, 0.8, 0.8], step_time=1.0, peak_memory_mb=120)
    write_run(tmp_path / "a" / "s1", "gnivo", 1, [0.2, 0.6, 0.6, 1.0], step_time=3.0, peak_memory_mb=150)
    write_run(tmp_path / "b" / "s0", "grpo", 0, [0.0, 0.1, 0.2, 0.3], peak_memory_mb=90)
    comparison = compare_runs(find_runs([tmp_path]), window=1)
    gnivo, grpo = comparison.stats
    assert gnivo.algorithm == "gnivo" and gnivo.seeds == [0, 1]
    assert gnivo.final_reward == pytest.approx(0.9)  # last quarter = last step: 0.8 and 1.0
    assert gnivo.final_reward_std == pytest.approx(math.sqrt(0.02))
    assert grpo.final_reward_std is None  # one seed
    # First-step reward over all runs: mean(0.0, 0.2, 0.0); best mean curve: gnivo's last step, 0.9.
    first = 0.2 / 3
    assert comparison.threshold == pytest.approx(first + (0.9 - first) / 2)
    # Per seed: seed 0 reaches ~0.48 at step 3 (0.8), seed 1 at step 2 (0.6); 4 samples per step.
    assert gnivo.steps_to_threshold == 2.5 and gnivo.steps_to_threshold_std == pytest.approx(math.sqrt(0.5))
    assert gnivo.samples_to_threshold_by_seed == {0: 12, 1: 8} and gnivo.seeds_reaching == 2
    assert grpo.steps_to_threshold is None and grpo.seeds_reaching == 0
    assert gnivo.samples_to_threshold == 10
    columns = dict(zip(TABLE_HEADERS, zip(*table_rows(comparison), strict=True), strict=True))
    assert columns["samples to threshold"] == ("10 ± 3", "not reached")
    assert columns["final reward vs first"] == ("(first)", "-")  # grpo has one seed: no interval
    assert gnivo.peak_memory_mb == 150 and grpo.peak_memory_mb == 90
    assert gnivo.median_step_time == pytest.approx((1.3 + 3.0) / 2)  # over 1.0..1.3 and 3.0..3.9
    given = compare_runs(find_runs([tmp_path]), threshold=0.25, window=1)
    assert given.threshold == 0.25 and given.stats[1].steps_to_threshold == 4
    assert "given" in given.threshold_rule


def test_the_table_says_ahead_only_where_the_paired_interval_excludes_zero(tmp_path):
    for seed in (0, 1, 2):
        write_run(tmp_path / "a" / f"s{seed}", "gnivo", seed, [0.1 * seed, 0.5 + 0.1 * seed])
        write_run(tmp_path / "b" / f"s{seed}", "grpo", seed, [0.1 * seed, 0.4 + 0.1 * seed + 0.01 * seed])
        write_run(tmp_path / "c" / f"s{seed}", "rloo", seed, [0.1 * seed, 0.5 + 0.1 * seed + 0.1 * (seed - 1)])
    comparison = compare_runs(find_runs([tmp_path]), window=1)
    columns = dict(zip(TABLE_HEADERS, zip(*table_rows(comparison), strict=True), strict=True))
    first, grpo, rloo = columns["final reward vs first"]
    assert first == "(first)"
    # grpo: -0.10, -0.09, -0.08 against gnivo, seed by seed: behind; rloo: -0.1, 0, +0.1: level.
    assert grpo.startswith("-0.090 [") and grpo.endswith("] behind")
    assert rloo.startswith("+0.000 [") and rloo.endswith("] level")
    summary = summary_markdown(comparison, title="t")
    assert "paired by seed" in summary and "minus gnivo's" in summary


def test_curves_align_seeds_by_step_and_place_steps_at_generated_samples(tmp_path):
    a = load_run(write_run(tmp_path / "a", "gnivo", 0, [0.0, 1.0, 0.5], samples_per_step=8))
    b = load_run(write_run(tmp_path / "b", "gnivo", 1, [1.0, 0.0], samples_per_step=8))  # stopped early
    by_step = curve([a, b], "reward")
    assert by_step.x.tolist() == [1, 2, 3]
    assert by_step.mean.tolist() == [0.5, 0.5, 0.5]
    assert by_step.count.tolist() == [2, 2, 1]
    assert math.isnan(by_step.std[2]) and by_step.std[0] == pytest.approx(math.sqrt(0.5))
    by_samples = curve([a, b], "reward", x="num_samples")
    assert by_samples.x.tolist() == [8, 16, 24]
    assert curve([a], "no_such_metric") is None


def test_smoothing_is_a_trailing_mean():
    import numpy as np

    assert smooth(np.array([0.0, 2.0, 4.0, 6.0]), 2).tolist() == [0.0, 1.0, 3.0, 5.0]
    assert smooth(np.array([1.0, 3.0]), 1).tolist() == [1.0, 3.0]


def test_default_smoothing_window_is_a_tenth_of_the_steps(tmp_path):
    write_run(tmp_path / "r", "gnivo", 0, curve_for("gnivo", 0, 40))
    assert compare_runs(find_runs([tmp_path])).window == 4
    assert compare_runs(find_runs([tmp_path]), window=1).window == 1


# ---- finding runs ------------------------------------------------------------------------------------


def test_runs_are_found_in_compare_dirs_and_grouped_by_algorithm(tmp_path):
    write_run(tmp_path / "cmp" / "grpo" / "seed-0", "grpo", 0, [0.1, 0.2])
    write_run(tmp_path / "cmp" / "gnivo" / "seed-0", "gnivo", 0, [0.1, 0.3])
    # A run still training: no summary.json, the algorithm comes from its recipe.yaml.
    single = write_run(tmp_path / "solo", "rloo", 4, [0.2], finished=False)
    runs = find_runs([tmp_path / "cmp", single])
    assert [(r.algorithm, r.seed, r.finished) for r in runs] == [
        ("gnivo", 0, True),
        ("grpo", 0, True),
        ("rloo", 4, False),
    ]
    comparison = compare_runs(runs)
    assert list(comparison.groups) == ["gnivo", "grpo", "rloo"]  # the known order, whatever the input order


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "no such file or directory"),
        (lambda p: p.mkdir(), "no training runs found"),
        (
            lambda p: (p.mkdir(), (p / "metrics.jsonl").write_text('{"step": 1}\n{oops\n')),
            r"metrics.jsonl:2: invalid JSON",
        ),
        (lambda p: (p.mkdir(), (p / "metrics.jsonl").write_text('{"step": 1}\n')), "cannot tell the algorithm"),
    ],
)
def test_bad_run_dirs_are_named_in_one_line(tmp_path, setup, message):
    path = tmp_path / "x"
    setup(path)
    with pytest.raises(GnivoError, match=message) as error:
        find_runs([path])
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_plot_writes_a_png_even_without_kl_or_a_second_seed(tmp_path):
    write_run(tmp_path / "r", "gnivo", 0, [0.1, 0.5, 0.7], kl=[None, None, None])
    comparison = compare_runs(find_runs([tmp_path]))
    out = plot_comparison(comparison, tmp_path / "deep" / "fig.png", title="t")
    assert out.read_bytes()[:8] == PNG_MAGIC
    text = summary_markdown(comparison, title="t")
    assert text.startswith("# t\n") and "| gnivo | 1 | 0.700 |" in text


def test_no_default_threshold_when_nothing_learned(tmp_path):
    write_run(tmp_path / "a", "gnivo", 0, [0.0, 0.0, 0.0])
    write_run(tmp_path / "b", "grpo", 0, [0.0, 0.0, 0.0])
    comparison = compare_runs(find_runs([tmp_path]))
    assert comparison.threshold is None and "no mean curve rose" in comparison.threshold_rule
    assert all(s.steps_to_threshold is None for s in comparison.stats)
    assert "| gnivo | 1 | 0.000 | 0.000 | - |" in summary_markdown(comparison, title="t")
