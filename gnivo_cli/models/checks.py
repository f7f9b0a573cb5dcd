"""Recipe checks that need the loaded model: run right after it loads, before training starts.

Without them a LoRA target that names no module fails deep inside peft, prompts plus `max_new_tokens`
longer than the model's context generate past the positions it was trained on, and a batch that cannot
fit in memory (`gnivo_cli.models.memory`) fails, or swaps for hours, inside generation.
"""

from __future__ import annotations

import re
from typing import Any

from gnivo_cli.models.memory import memory_problem
from gnivo_cli.recipe.loader import Recipe, recipe_error_at

ALL_LINEAR = "all-linear"


def check_against_model(recipe: Recipe, model: Any, tokenizer: Any, dataset: Any) -> None:
    """Raise a `RecipeError` naming the recipe key when the recipe does not fit the loaded model."""
    if recipe.lora.enabled:
        problem = lora_target_problem(recipe.lora.target_modules, [name for name, _ in model.named_modules()])
        if problem:
            raise recipe_error_at(recipe, "lora.target_modules", problem)
    longest = longest_prompt(tokenizer, dataset)
    problem = memory_problem(recipe, model, longest)
    if problem:
        raise recipe_error_at(recipe, "training.per_device_batch_size", problem)
    context = context_length(model)
    if context is None:
        return
    needed = longest + recipe.generation.max_new_tokens
    if needed > context:
        raise recipe_error_at(
            recipe,
            "generation.max_new_tokens",
            f"{recipe.generation.max_new_tokens} new tokens after the longest prompt ({longest} tokens) make "
            f"{needed}, beyond the model's context of {context}; lower it to at most {max(context - longest, 0)} "
            "or shorten the prompts",
        )


def lora_target_problem(targets: str | list[str], module_names: list[str]) -> str | None:
    """Why LoRA `targets` would not apply to a model with these modules (peft's own matching rules)."""
    if targets == ALL_LINEAR:
        return None
    if isinstance(targets, str):  # peft reads a string as a regular expression over full module names
        if any(re.fullmatch(targets, name) for name in module_names):
            return None
        return f"the pattern {targets!r} matches no module of the model; {_known(module_names)}"
    missing = [t for t in targets if not any(name == t or name.endswith("." + t) for name in module_names)]
    if not missing:
        return None
    verb = "matches" if len(missing) == 1 else "match"
    return f"{', '.join(repr(t) for t in missing)} {verb} no module; {_known(module_names)}"


def _known(module_names: list[str]) -> str:
    leaves = sorted(
        {name.rsplit(".", 1)[-1] for name in module_names if name and not name.rsplit(".", 1)[-1].isdigit()}
    )
    return f"its modules are named {', '.join(leaves[:20])}{' ...' if len(leaves) > 20 else ''} (or use all-linear)"


def context_length(model: Any) -> int | None:
    config = getattr(model, "config", None)
    value = getattr(config, "max_position_embeddings", None)
    return value if isinstance(value, int) and value > 0 else None


def longest_prompt(tokenizer: Any, dataset: Any) -> int:
    """Tokens in the longest prompt of the dataset, with the chat template and generation prompt applied."""
    longest = 0
    for prompt in dataset["prompt"]:
        if getattr(tokenizer, "chat_template", None):
            ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):  # some versions return a BatchEncoding
                ids = ids["input_ids"]
        else:
            ids = tokenizer("\n".join(m["content"] for m in prompt))["input_ids"]
        longest = max(longest, len(ids))
    return longest
