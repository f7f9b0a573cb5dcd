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
