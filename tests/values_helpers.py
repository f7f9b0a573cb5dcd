"""Runs for `gnivo values` tests, made in seconds: a tiny model, a LoRA adapter with random (non-zero) weights,
and the recipe.yaml a finished gnivo run would hold."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

#: A reward whose value varies with the completion: the example plugin's length reward (installed by the suite).
LENGTH_REWARD = {"name": "length", "weight": 1.0, "params": {"target": 4, "tolerance": 8, "unit": "characters"}}


def save_random_adapter(base_dir: Path, target: Path, *, seed: int = 0, strength: float = 3.0) -> Path:
    """A LoRA adapter on `base_dir` whose weights are random, so the policy differs from its base."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM")
    model = get_peft_model(base, config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.mul_(strength)
    model.save_pretrained(target)
    return target


def make_run(
    root: Path,
    base_dir: Path,
    *,
    alpha: float = 0.25,
    unit: str = "step",
    separator: str = " ",
    algorithm: str = "gnivo",
    rewards: list | None = None,
    max_new_tokens: int = 6,
    final: bool = True,
) -> Path:
    """A gnivo LoRA run directory on the tiny model: recipe.yaml, final/ (unless `final` is False)."""
    root.mkdir(parents=True, exist_ok=True)
    algorithm_section = {"name": algorithm, "num_generations": 2}
    if algorithm.startswith("gnivo"):
        algorithm_section |= {"alpha": alpha, "unit": unit, "step_separator": separator}
    recipe = {
        "model": {"name": str(base_dir)},
        "lora": {"enabled": True, "r": 4, "alpha": 8},
        "data": {"source": "synthetic:arithmetic", "prompt_template": "{prompt} Answer:", "system_prompt": "Be brief."},
        "rewards": rewards or [LENGTH_REWARD],
        "algorithm": algorithm_section,
        "generation": {"max_new_tokens": max_new_tokens, "temperature": 1.0},
        "training": {"output_dir": str(root), "max_steps": 2},
    }
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    if final:
        save_random_adapter(base_dir, root / "final")
    else:
        (root / "checkpoint-1").mkdir()
    return root


def write_logged(run: Path, rows: list[dict], *, torn: str | None = None) -> Path:
    """completions.jsonl as a run logs it, with a torn last line where given."""
    path = run / "completions.jsonl"
    text = "".join(json.dumps(row) + "\n" for row in rows)
    path.write_text(text + (torn or ""))
    return path


def sequence_logps(model, prompt_ids: list[int], completion_ids: list[int]) -> list[float]:
    """log-probs of the completion tokens from one unbatched forward pass: an independent check of the values."""
    import torch

    ids = torch.tensor([prompt_ids + completion_ids])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1 : -1].double()
    return logits.log_softmax(-1).gather(-1, torch.tensor(completion_ids).unsqueeze(-1)).squeeze(-1).tolist()
