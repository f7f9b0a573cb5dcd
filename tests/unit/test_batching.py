"""Group-preserving shuffles and reasoning-step boundaries."""

from __future__ import annotations

import pytest
import torch
from trl.trainer.utils import split_tensor_dict

from gnivo_cli.algorithms.gnivo.group_batching import shuffle_groups
from gnivo_cli.algorithms.gnivo.step_boundaries import step_ends


def test_shuffle_moves_whole_groups_and_keeps_rows_aligned():
    k, groups = 4, 6
    group_of_row = torch.arange(groups).repeat_interleave(k)
    batch = {
        "group": group_of_row,
        "ids": torch.arange(groups * k).unsqueeze(1).repeat(1, 3),
        "names": [f"row{i}" for i in range(groups * k)],
        "num_items_in_batch": torch.tensor(7),
        "absent": None,
    }
    shuffled = shuffle_groups(batch, k, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(shuffled["group"], group_of_row)  # it did shuffle
    for chunk in split_tensor_dict(shuffled, 3):  # micro-batches of 8 rows = 2 whole groups
        members = chunk["group"].view(-1, k)
        assert (members == members[:, :1]).all()
    # Every column moved together.
    assert [f"row{int(i)}" for i in shuffled["ids"][:, 0]] == shuffled["names"]
    assert torch.equal(shuffled["group"], shuffled["ids"][:, 0] // k)
    assert shuffled["num_items_in_batch"].item() == 7 and shuffled["absent"] is None


def test_shuffle_rejects_partial_groups():
    with pytest.raises(ValueError, match="whole groups"):
        shuffle_groups({"x": torch.zeros(6)}, 4)


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["Step", " one", ".\n\n", "Step", " two"], [2, 4]),
        (["a", "\n", "\nb", "c"], [2, 3]),  # the separator straddles two tokens: ends at its last char
        (["a", "\n\n"], [1]),  # a trailing separator ends the last step once
        (["a", "\n\n\n\n", "b"], [1, 2]),  # two separators inside one token: one boundary
        (["no separator at all"], [0]),
        ([], []),
    ],
)
def test_step_ends(tokens, expected):
    assert step_ends(tokens, "\n\n") == expected


# trl's tool_mask: 0 on the tokens of a tool's result, which the model did not write.
@pytest.mark.parametrize(
    ("tokens", "counted", "expected"),
    [
        # A separator inside the tool's result is none of the model's: the model's last token before it ends a step.
        (["a", "b", "\n\n", "c", "d", "e"], [1, 1, 0, 0, 1, 1], [1, 5]),
        (["Let", " x", "\n\n", "<out>", "\n\n", "7", "Then", " y"], [1, 1, 1, 0, 0, 0, 1, 1], [2, 7]),
        (["a", "b", "<out>"], [1, 1, 0], [1]),  # the completion ends in a tool result: the model's last token
        (["<out>", "a"], [0, 1], [1]),
        (["<out>"], [0], []),
        (["a", "\n\n", "b"], [1, 1, 1], [1, 2]),  # all counted: as without a tool mask
    ],
)
def test_step_ends_leave_tool_results_out(tokens, counted, expected):
    assert step_ends(tokens, "\n\n", counted) == expected
    assert all(counted[end] for end in step_ends(tokens, "\n\n", counted))


def test_the_trainer_passes_trls_tool_mask_to_the_step_ends():
    import types

    import torch

    from gnivo_cli.algorithms.gnivo.trainer import GNIVOTrainer

    texts = {1: "a", 2: "b", 3: "\n\n", 4: "c", 0: "<pad>"}
    parts = types.SimpleNamespace(args=types.SimpleNamespace(step_separator="\n\n"), _token_text=texts.get)
    ids = torch.tensor([[1, 2, 3, 4, 4, 0], [1, 3, 2, 0, 0, 0]])
    completion_mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0]])
    tool_mask = torch.tensor([[1, 1, 0, 0, 1, 1], [1, 1, 1, 1, 1, 1]])
    assert GNIVOTrainer._step_ends(parts, ids, completion_mask, tool_mask) == [[1, 4], [1, 2]]
    assert GNIVOTrainer._step_ends(parts, ids, completion_mask) == [[2, 4], [1, 2]]
