"""benchmarks/values_report.py: the tables of benchmarks/values.py from rows, and the figure."""

from __future__ import annotations

from benchmarks.values_exact import BEST_OF
from benchmarks.values_report import print_report


def _row(algorithm: str, seed, value: float | None) -> dict:
    numbers = {f"bon_{name}@{n}": 0.2 + (value or 0) / 10 for n in BEST_OF for name in ("min", "final", "oracle")}
    return {
        "algorithm": algorithm, "seed": seed, "expected_reward": 0.5, "leak": 0.01, "spearman": value,
        "spearman_steps": value, "f1_value": value or 0.0, "f1_value_acc_error": 0.5, "f1_value_acc_correct": 0.5,
        "f1_change": value or 0.0, "random": 0.1, **numbers,
    }  # fmt: skip


def test_the_tables_say_level_unless_the_interval_excludes_zero(capsys):
    rows = [_row("π_ref (untrained)", None, None), _row("π* (optimum)", None, 1.0)]
    rows += [_row("grpo", seed, 0.40 + 0.01 * seed) for seed in range(5)]
    rows += [_row("gnivo-all-step", seed, 0.60 + 0.01 * seed) for seed in range(5)]  # 0.2 higher on every seed
    rows += [_row("rloo", seed, 0.40 + (0.1 if seed % 2 else -0.1)) for seed in range(5)]  # noisy, mean 0.38
    print_report(rows, ["- header"], baseline="grpo")
    out = capsys.readouterr().out
    differences = out.split("Difference from grpo")[1].split("Best-of-N")[0].splitlines()
    gnivo = next(line for line in differences if line.startswith("| gnivo-all-step | "))
    assert gnivo.startswith("| gnivo-all-step | +0.200 [+0.200, +0.200] ahead")  # the same gap on every seed
    rloo = next(line for line in differences if line.startswith("| rloo | "))
    assert rloo.startswith("| rloo | -0.040 [") and rloo.split("|")[2].strip().endswith("level")
    assert "| π_ref (untrained) | - | 0.500 | — |" in out  # undefined correlation for all-zero values
    assert "0.620 ± 0.016" in out  # gnivo's mean ± std over its 5 seeds
    assert not any(line.startswith("| grpo | ") for line in differences)  # no difference from itself
