"""Regression suite: labelled answer pairs (tests/data/math_answer_pairs.jsonl), every kind both ways.

The same file feeds the agreement table of benchmarks/math_reward.py. Each row is a gold answer as a
dataset stores it, a model's output, and whether they state the same answer.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from rewards.math.reward import MathReward

PAIRS_FILE = Path(__file__).resolve().parents[1] / "data" / "math_answer_pairs.jsonl"
PAIRS = [json.loads(line) for line in PAIRS_FILE.read_text().splitlines() if line.strip()]
KINDS = {
    "several_boxes",
    "answer_sentence",
    "prose_structure",
    "mixed_number",
    "root_index",
    "imaginary_unit",
    "degrees_trig",
    "glued_units",
    "clock_time",
    "scientific_notation",
    "interval_ends",
    "comma_list",
    "numeric_tolerance",
    "decimal_comma",
    "thousands_separator",
    "relation_symbols",
    "set_boxes",
    "unit_mismatch",
    "matrix_sum",
}


@pytest.fixture(scope="module")
def reward():
    with MathReward.from_config({}, name="math") as reward:
        reward.warm_up()  # load sympy's parts before the first check, as training does
        yield reward


def test_every_row_is_complete_and_every_kind_goes_both_ways():
    assert all(set(row) == {"gold", "pred", "label", "kind"} for row in PAIRS)
    assert all(isinstance(row["label"], bool) and row["gold"] and row["pred"] for row in PAIRS)
    labels_by_kind = collections.defaultdict(set)
    for row in PAIRS:
        labels_by_kind[row["kind"]].add(row["label"])
    assert set(labels_by_kind) == KINDS
    assert all(labels == {True, False} for labels in labels_by_kind.values())
    assert len({(row["gold"], row["pred"]) for row in PAIRS}) == len(PAIRS)


@pytest.mark.parametrize(
    "row", [pytest.param(row, id=f"{row['kind']}: {row['gold']} vs {row['pred'][-40:]}") for row in PAIRS]
)
def test_verdict_matches_the_label(reward, row):
    (verdict,) = reward.judge([row["pred"]], [row["gold"]])
    assert verdict.correct is row["label"]


def test_the_whole_file_in_one_batch_gives_the_same_verdicts(reward):
    verdicts = reward.judge([row["pred"] for row in PAIRS], [row["gold"] for row in PAIRS])
    assert [verdict.correct for verdict in verdicts] == [row["label"] for row in PAIRS]
