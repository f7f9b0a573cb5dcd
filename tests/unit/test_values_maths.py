"""The implicit-value maths of `gnivo values` (gnivo_cli/values/maths.py) and its colour scale."""

from __future__ import annotations

import math

import pytest
import torch

from gnivo_cli.algorithms.gnivo.loss import prefix_log_ratios
from gnivo_cli.values.colors import MIDDLE, NEGATIVE, POSITIVE, diverging, readable_text
from gnivo_cli.values.maths import (
    completion_values,
    first_step_below,
    prefix_values,
    step_changes,
    step_values,
    token_log_ratios,
)

POLICY = [-1.0, -0.5, -2.0, -0.1, -0.3]
REFERENCE = [-1.5, -0.5, -1.0, -0.6, -0.2]
# r = [0.5, 0.0, -1.0, 0.5, -0.1]; q = [0.5, 0.5, -0.5, 0.0, -0.1]


def test_a_hand_computed_completion():
    values = completion_values(POLICY, REFERENCE, [1, 3, 4], scale=0.2)
    assert values.log_ratios == pytest.approx([0.5, 0.0, -1.0, 0.5, -0.1])
    assert values.values == pytest.approx([0.1, 0.1, -0.1, 0.0, -0.02])
    assert values.step_values == pytest.approx([0.1, 0.0, -0.02])  # q at tokens 1, 3, 4, times 0.2
    assert values.step_changes == pytest.approx([0.1, -0.1, -0.02])
    assert values.min_step_value == pytest.approx(-0.02) and values.lowest_step == 2
    assert values.final_value == pytest.approx(-0.02)
    assert values.step_of_token() == [0, 0, 1, 1, 2]


def test_the_token_unit_makes_every_token_a_step():
    values = completion_values(POLICY, REFERENCE, None)
    assert values.step_ends == (0, 1, 2, 3, 4)
    assert values.step_values == pytest.approx(values.values)
    assert values.step_changes == pytest.approx(values.log_ratios)
    assert values.min_step_value == pytest.approx(-0.5) and values.lowest_step == 2


def test_the_changes_add_up_to_the_values():
    at_steps = step_values(prefix_values(token_log_ratios(POLICY, REFERENCE)), [0, 2, 4])
    assert list(step_changes(at_steps).cumsum()) == pytest.approx(list(at_steps))


@pytest.mark.parametrize("unit", ["token", "step"])
def test_the_values_are_the_prefix_log_ratios_the_gnivo_loss_trains(unit):
    generator = torch.Generator().manual_seed(3)
    logps = -torch.rand(3, 7, generator=generator, dtype=torch.float64)
    ref = -torch.rand(3, 7, generator=generator, dtype=torch.float64)
    lengths = [7, 5, 6]
    mask = torch.tensor([[1.0] * n + [0.0] * (7 - n) for n in lengths], dtype=torch.float64)
    ends = [[1, 4, 6], [2, 4], [0, 3, 5]] if unit == "step" else None
    trained, _ = prefix_log_ratios(logps, ref, mask, ends)
    for row, length in enumerate(lengths):
        ours = completion_values(logps[row, :length].tolist(), ref[row, :length].tolist(), ends[row] if ends else None)
        assert list(ours.step_values) == pytest.approx(trained[row, : len(ours.step_values)].tolist())


def test_an_empty_completion_has_the_prompts_value():
    values = completion_values([], [], [])
    assert values.values == () and values.step_values == ()
    assert values.min_step_value == 0.0 and values.final_value == 0.0 and values.lowest_step == -1


@pytest.mark.parametrize("ends", [[5], [2, 1], [-1]])
def test_step_ends_outside_the_completion_are_refused(ends):
    with pytest.raises(ValueError, match="step ends"):
        completion_values(POLICY, REFERENCE, ends)


def test_log_probs_of_two_lengths_are_refused():
    with pytest.raises(ValueError, match="equal"):
        token_log_ratios([0.0, 1.0], [0.0])


def test_the_first_step_below_a_threshold():
    assert first_step_below([0.3, -0.2, -0.5], 0.0) == 1
    assert first_step_below([0.3, -0.2, -0.5], -0.3) == 2
    assert first_step_below([0.3, 0.2], 0.0) == -1
    assert first_step_below([0.0], 0.0) == -1  # below, not at


def test_the_diverging_scale():
    assert diverging(0.0, 1.0) == MIDDLE
    assert diverging(1.0, 1.0) == POSITIVE and diverging(5.0, 1.0) == POSITIVE  # clamped at the limit
    assert diverging(-1.0, 1.0) == NEGATIVE
    half = diverging(0.5, 1.0)
    assert all(min(m, p) <= h <= max(m, p) for m, p, h in zip(MIDDLE, POSITIVE, half, strict=True))
    red, blue = diverging(-0.5, 1.0), diverging(0.5, 1.0)
    assert red[0] > red[2] and blue[2] > blue[0]
    assert diverging(3.0, 0.0) == MIDDLE  # nothing to scale by: white
    assert readable_text(POSITIVE) == (255, 255, 255) and readable_text(MIDDLE) == (0, 0, 0)
    assert not math.isnan(sum(diverging(0.3, 0.7)))


def test_newline_tokens_show_as_one_line_break_per_run():
    from gnivo_cli.values.report import shown_tokens

    tokens = ["aa", "\n", "\n", "ab", "\n\n", "x", "", "end\n"]
    assert shown_tokens(tokens) == [
        ("aa", False), ("↵", False), ("↵", True), ("ab", False), ("↵↵", True), ("x", False), ("∅", False),
        ("end↵", True),
    ]  # fmt: skip
