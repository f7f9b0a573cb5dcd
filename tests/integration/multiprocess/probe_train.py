"""Run under `accelerate launch`: gnivo's own `train`, instrumented.

Each rank records, for every loss call, whether each block of K rows holds one prompt (a whole group),
and at the end a digest of its trainable weights; it writes both to PROBE_DIR/rank-R.json.
Usage: accelerate launch --num_processes 2 --cpu probe_train.py RECIPE PROBE_DIR [--resume] [override ...]
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from gnivo_cli.algorithms.gnivo.trainer import GNIVOTrainer
from gnivo_cli.recipe.loader import load_recipe
from gnivo_cli.training.train import train

loss_calls: list[dict] = []
_original_compute_loss = GNIVOTrainer._compute_loss


def _recording_compute_loss(self, model, inputs):
    prompts = inputs["prompt_ids"]
    k = self.num_generations
    groups = prompts.view(-1, k, prompts.shape[-1])
    whole = bool((groups == groups[:, :1]).all()) and prompts.shape[0] % k == 0
    loss_calls.append({"rows": int(prompts.shape[0]), "whole_groups": whole})
    return _original_compute_loss(self, model, inputs)


GNIVOTrainer._compute_loss = _recording_compute_loss


def weights_digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, parameter in sorted(model.named_parameters()):
        if parameter.requires_grad:
            digest.update(name.encode())
            digest.update(parameter.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


def main() -> None:
    recipe_path, probe_dir, *rest = sys.argv[1:]
    resume = "--resume" in rest
    overrides = [item for item in rest if item != "--resume"]
    captured = {}
    original_train = GNIVOTrainer.train

    def train_and_capture(self, *args, **kwargs):
        output = original_train(self, *args, **kwargs)
        captured["digest"] = weights_digest(self.model)
        captured["rank"] = self.accelerator.process_index
        captured["world"] = self.accelerator.num_processes
        captured["samples_scored"] = [function.samples_scored for function in self.gnivo_reward_functions]
        return output

    GNIVOTrainer.train = train_and_capture
    train(load_recipe(Path(recipe_path), overrides), resume=resume)
    Path(probe_dir).mkdir(parents=True, exist_ok=True)
    report = {**captured, "loss_calls": loss_calls}
    (Path(probe_dir) / f"rank-{captured['rank']}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main()
