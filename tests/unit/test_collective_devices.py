"""Tensors handed to a collective live on the accelerator's device: under NCCL a CPU tensor given to
`accelerator.gather` is an error or a hang, so a process with no valid group must not send one."""

from __future__ import annotations

import types
from collections import defaultdict

import torch

from gnivo_cli.algorithms.gnivo.loss import gnivo_loss_terms
from gnivo_cli.algorithms.gnivo.trainer import GNIVOTrainer


class RecordingAccelerator:
    """Stands in for accelerate's: its device is `meta` (no real collective), and it records where each
    tensor given to `gather` lives."""

    device = torch.device("meta")

    def __init__(self) -> None:
        self.devices: list[torch.device] = []

    def gather(self, tensor: torch.Tensor) -> torch.Tensor:
        self.devices.append(tensor.device)
        return torch.zeros(tensor.shape)  # a value to take the mean of; the device is what is checked


def _trainer_parts() -> types.SimpleNamespace:
    parts = types.SimpleNamespace(accelerator=RecordingAccelerator(), _metrics={"train": defaultdict(list)})
    parts._global_mean = types.MethodType(GNIVOTrainer._global_mean, parts)
    return parts


def _terms(mask: torch.Tensor):
    logps = torch.zeros(mask.shape)
    return gnivo_loss_terms(logps, logps, mask, torch.tensor([1.0, 0.0, 0.5, 0.5]), group_size=2, alpha=0.5)


def test_a_process_without_a_valid_group_gathers_on_the_accelerators_device():
    terms = _terms(torch.zeros(4, 3))  # every completion empty: no group has a prefix point
    assert not bool(terms.valid_groups.any())
    parts = _trainer_parts()
    GNIVOTrainer._log_gnivo_metrics(parts, "train", terms, torch.zeros(4, 3), torch.zeros(4, 3))
    assert len(parts.accelerator.devices) == 4  # cross entropy, target entropy, final log-ratio, entropy
    assert set(parts.accelerator.devices) == {torch.device("meta")}
    assert set(parts._metrics["train"]) == {
        "gnivo/cross_entropy",
        "gnivo/target_entropy",
        "gnivo/final_log_ratio_abs",
        "entropy",
    }


def test_valid_groups_gather_on_the_accelerators_device_too():
    terms = _terms(torch.ones(4, 3))
    parts = _trainer_parts()
    GNIVOTrainer._log_gnivo_metrics(parts, "train", terms, torch.zeros(4, 3), torch.ones(4, 3))
    assert set(parts.accelerator.devices) == {torch.device("meta")}
