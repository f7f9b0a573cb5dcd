"""gnivo's model card (README.md in final/ and in an export): what the model is, how it was trained, how well
it did, and how to load it offline from the folder.

Everything comes from the run's files (recipe.yaml, summary.json, eval.jsonl), so `gnivo export` writes the
same card for a merged copy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml

from gnivo_cli.files.json_file import read_json_object
from gnivo_cli.training import run_files

CARD_FILE = "README.md"
#: The model `embedded` stands for, and its licence (the card of HuggingFaceTB/SmolLM2-135M-Instruct).
EMBEDDED_BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"
EMBEDDED_LICENSE = "apache-2.0"
CITATION = """@inproceedings{choi2026gnivo,
  title     = {Group-Normalized Implicit Value Optimization for Language Models},
  author    = {Choi and others},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2026},
  url       = {https://openreview.net/forum?id=eFXmrCun0c}
}"""
Kind = Literal["adapter", "full", "merged"]


def model_card(run_dir: Path, model_dir: Path, kind: Kind) -> str:
    """The card of the model in `model_dir` (final/ or an export), trained in `run_dir`."""
    recipe = run_files.read_recipe(run_dir) or {}
    summary = read_json_object(Path(run_dir) / run_files.SUMMARY_FILE, invalid="none") or {}
    held_out = run_files.read_rows(Path(run_dir) / run_files.EVAL_FILE)
    model = (recipe.get("model") or {}).get("name", "?")
    base, licence = base_model(model)
    algorithm = (recipe.get("algorithm") or {}).get("name", "?")
    front = {
        **({"base_model": base} if _is_hub_id(base) else {}),
        **({"license": licence} if licence else {}),
        "library_name": "peft" if kind == "adapter" else "transformers",
        "pipeline_tag": "text-generation",
        "tags": list(
            dict.fromkeys(["gnivo", "trl", "reinforcement-learning", algorithm, *(["lora"] * (kind == "adapter"))])
        ),
    }
    sections = [
        "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---",
        f"# {Path(run_dir).resolve().name}",
        _what_it_is(recipe, base, licence, kind, algorithm),
        _results(summary, held_out),
        _usage(model_dir, kind, summary.get("example_prompt"), recipe, held_out[-1]["benchmark"] if held_out else None),
        "## Recipe\n\nThe resolved recipe the run trained with (`gnivo train` reads it back as it is):\n\n"
        f"```yaml\n{yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True)}```",
        "## Citation\n\nGN-IVO: Choi et al., *Group-Normalized Implicit Value Optimization for Language Models*, "
        f"ICLR 2026 ([OpenReview eFXmrCun0c](https://openreview.net/forum?id=eFXmrCun0c)).\n\n```bibtex\n{CITATION}\n```",
    ]
    return "\n\n".join(sections) + "\n"


def write_model_card(run_dir: Path, model_dir: Path, kind: Kind, *, written_to: Path | None = None) -> Path:
    """Write the card of `model_dir` into it (or into `written_to`, a folder that becomes `model_dir`)."""
    path = Path(written_to or model_dir) / CARD_FILE
    path.write_text(model_card(run_dir, model_dir, kind), encoding="utf-8")
    return path


def base_model(name: str) -> tuple[str, str | None]:
    """(what the base model is, its licence where known): `embedded` is SmolLM2-135M-Instruct, Apache-2.0; a
    local folder's licence is read from its own card."""
    from gnivo_cli.models.loading import is_embedded

    if is_embedded(name):
        return EMBEDDED_BASE, EMBEDDED_LICENSE
    card = Path(name).expanduser() / CARD_FILE
    if card.is_file():
        text = card.read_text(encoding="utf-8", errors="replace")
        if text.startswith("---"):
            try:
                front = yaml.safe_load(text.split("---", 2)[1]) or {}
            except yaml.YAMLError:
                front = {}
            if isinstance(front, dict) and isinstance(front.get("license"), str):
                return name, front["license"]
    return name, None


def _is_hub_id(name: str) -> bool:
    return name.count("/") == 1 and not name.startswith((".", "/", "~")) and not Path(name).exists()


def _what_it_is(recipe: dict[str, Any], base: str, licence: str | None, kind: Kind, algorithm: str) -> str:
    lora = recipe.get("lora") or {}
    data = recipe.get("data") or {}
    rewards = ", ".join(f"`{r.get('name')}` (weight {r.get('weight', 1.0)})" for r in recipe.get("rewards") or [])
    algo = recipe.get("algorithm") or {}
    settings = ", ".join(f"{key} {json.dumps(value)}" for key, value in algo.items() if key != "name")
    link = f"[{base}](https://huggingface.co/{base})" if _is_hub_id(base) else f"`{base}`"
    weights = {
        "adapter": f"a LoRA adapter (r {lora.get('r')}, alpha {lora.get('alpha')}) on the base model",
        "full": "the full weights of the fine-tuned model",
        "merged": f"the base model with the run's LoRA adapter (r {lora.get('r')}) merged into its weights: "
        "it loads with transformers or vLLM, no peft needed",
    }[kind]
    licence_line = f"Licence of the base model: {licence}." if licence else "Licence: see the base model's card."
    return (
        f"{link} post-trained with reinforcement learning by gnivo (critic-free RL on Hugging Face trl), "
        f"algorithm `{algorithm}` ({settings}).\n\n"
        f"- **Base model:** {link}. {licence_line}\n"
        f"- **What this folder holds:** {weights}.\n"
        f"- **Training prompts:** `{data.get('source')}`"
        + (f" (split {data.get('split')})" if data.get("source", "").count("/") == 1 else "")
        + f", prompt template `{data.get('prompt_template')}`.\n"
        f"- **Rewards:** {rewards}."
    )


def _results(summary: dict[str, Any], held_out: list[dict[str, Any]]) -> str:
    rows = []
    if summary.get("final_reward") is not None:
        rows.append(("final training reward (mean of the last quarter of steps)", f"{summary['final_reward']:.3f}"))
    if summary.get("final_boxed_correct_share") is not None:
        rows.append(
            ("answers boxed and correct (last quarter of steps)", f"{summary['final_boxed_correct_share']:.2f}")
        )
    if held_out:
        last = held_out[-1]
        scores = ", ".join(f"{k} {v:.3f}" for k, v in last.items() if k.startswith(("pass@", "avg@")))
        first = held_out[0]
        before = ""
        if first is not last:
            initial = ", ".join(f"{k} {v:.3f}" for k, v in first.items() if k.startswith(("pass@", "avg@")))
            before = f"; at step {first['step']}: {initial}"
        n = last.get("samples_per_problem")
        where = f"{last['benchmark']}, {last.get('num_problems')} problems, {n} sample{'s' if n != 1 else ''} each"
        rows.append((f"held-out {where}, at step {last['step']}", scores + before))
    else:
        rows.append(("held-out score", "not measured during training (`training.eval`); run `gnivo eval --model DIR`"))
    if summary.get("steps") is not None:
        rows.append(
            ("optimizer steps / completions generated", f"{summary['steps']} / {summary.get('samples_generated')}")
        )
    if summary.get("total_time") is not None:
        rows.append(("training time (this machine)", f"{summary['total_time']:.0f} s"))
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return f"## Results\n\n| measure | value |\n|---|---|\n{table}"


def _usage(model_dir: Path, kind: Kind, example: Any, recipe: dict[str, Any], bench: str | None) -> str:
    messages = example if isinstance(example, list) else [{"role": "user", "content": "What is 3 + 4?"}]
    max_new_tokens = (recipe.get("generation") or {}).get("max_new_tokens", 128)
    if kind == "adapter":
        imports = "from peft import AutoPeftModelForCausalLM\nfrom transformers import AutoTokenizer"
        load = "model = AutoPeftModelForCausalLM.from_pretrained(path)  # the base model from adapter_config.json"
    else:
        imports = "from transformers import AutoModelForCausalLM, AutoTokenizer"
        load = "model = AutoModelForCausalLM.from_pretrained(path)"
    code = f"""{imports}

path = {json.dumps(str(Path(model_dir).resolve()))}  # this folder
{load}
tokenizer = AutoTokenizer.from_pretrained(path)
messages = {json.dumps(messages, ensure_ascii=False)}
inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
output = model.generate(**inputs, max_new_tokens={max_new_tokens}, do_sample=False)
print(tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True))"""
    merge = (
        "\n\n`gnivo export RUN --merge -o DIR` writes the adapter merged into full weights, which load with "
        "transformers or vLLM and no peft."
        if kind == "adapter"
        else ""
    )
    return (
        "## Use\n\nOffline, from this folder (no download"
        + (", the base model read from the path in adapter_config.json" if kind == "adapter" else "")
        + f"):\n\n```python\n{code}\n```\n\n"
        f"`gnivo eval --model {Path(model_dir).resolve()} --bench {bench or 'BENCH'}` scores it on a benchmark "
        f"(`gnivo eval --list` lists them).{merge}"
    )
