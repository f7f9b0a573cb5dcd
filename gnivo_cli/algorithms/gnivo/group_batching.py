"""Batch surgery that keeps every group of K completions together."""

from __future__ import annotations

from typing import Any

import torch


def shuffle_groups(batch: dict[str, Any], group_size: int, generator: torch.Generator | None = None) -> dict[str, Any]:
    """Shuffle the rows of a batch in whole groups of `group_size` consecutive rows.

    trl shuffles single rows before splitting a generation batch into micro-batches; the GN-IVO group
    softmax needs all K members in the same loss call, so whole groups move together instead.
    """
    rows = _batch_rows(batch)
    if rows % group_size:
        raise ValueError(f"batch of {rows} rows is not made of whole groups of {group_size}")
    groups = torch.randperm(rows // group_size, generator=generator)
    order = (groups.unsqueeze(1) * group_size + torch.arange(group_size)).reshape(-1)
    return {key: _take(value, order) for key, value in batch.items()}


def _batch_rows(batch: dict[str, Any]) -> int:
    for value in batch.values():
        if isinstance(value, torch.Tensor) and value.ndim >= 1:
            return value.shape[0]
        if isinstance(value, list):
            return len(value)
    raise ValueError("batch has no row-indexed value")


def _take(value: Any, order: torch.Tensor) -> Any:
    if isinstance(value, torch.Tensor) and value.ndim >= 1:
        return value[order.to(value.device)]
    if isinstance(value, list):
        return [value[i] for i in order.tolist()]
    return value  # scalars and None are shared by the whole batch
