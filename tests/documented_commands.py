"""The commands README.md, docs/*.md and the recipes' comments show, and how the test runs each one
(tests/integration/test_documented_commands.py).

A command is a line of a shell code block (after a ``$ `` prompt where the block has them; ``\\`` continues
a line; each part of an ``&&`` chain counts on its own), an inline code span that is a whole command (a
program, a subcommand and at least one argument), or a recipe comment line, that starts with `gnivo`,
`python benchmarks/...`, `python -m gnivo_cli`, `accelerate launch` or `trl vllm-serve` (environment
assignments may come first). Installs and the test command itself are not commands here.

Each documented command is either run, on a tiny model and a few steps, with the substitutions below, or
listed in `NOT_RUN` with the reason it cannot run here. A new command that is neither fails the test.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_PROGRAM = re.compile(
    r"^(?:[A-Z_][A-Z0-9_]*=\S+\s+)*"
    r"(?:gnivo(?=\s|$)|python3? (?:benchmarks/|-m gnivo_cli)|accelerate launch(?=\s|$)|trl vllm-serve(?=\s|$))"
)
_FENCE = re.compile(r"^\s*```(\w*)")
_NOT_SHELL = {"python", "yaml", "json", "toml"}


@dataclass(frozen=True)
class Documented:
    where: str  #: file:line
    command: str


def _parts(line: str) -> list[str]:
    line = line.strip().removeprefix("$ ")
    parts = []
    for part in re.split(r"\s*(?:&&|;)\s*", line):
        part = re.sub(r"\s+#.*$", "", part).strip().rstrip("&").strip()  # a trailing comment, a trailing &
        if _PROGRAM.match(part):
            parts.append(" ".join(part.split()))
    return parts


def _markdown(path: Path) -> list[Documented]:
    found = []
    lines = path.read_text(encoding="utf-8").splitlines()
    relative = path.relative_to(REPO)
    fence: str | None = None
    prompted = False
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = _FENCE.match(line)
        if opening:
            fence = None if fence is not None else (opening.group(1) or "text")
            if fence is not None:  # a block with prompts: only its prompted lines are commands
                end = next((i for i in range(index + 1, len(lines)) if _FENCE.match(lines[i])), len(lines))
                prompted = any(lines[i].lstrip().startswith("$ ") for i in range(index + 1, end))
        elif fence is not None and fence not in _NOT_SHELL:
            start = index
            while line.rstrip().endswith("\\") and index + 1 < len(lines):
                index += 1
                line = line.rstrip()[:-1] + " " + lines[index].strip()
            if not prompted or line.lstrip().startswith("$ "):
                found += [Documented(f"{relative}:{start + 1}", part) for part in _parts(line)]
        elif fence is None:
            for span in re.findall(r"`([^`\n]+)`", line):
                words = span.split()
                whole = len(words) > 2 or (len(words) == 2 and words[0].startswith("python"))
                if _PROGRAM.match(span.strip()) and whole:
                    found.append(Documented(f"{relative}:{index + 1}", " ".join(words)))
        index += 1
    return found


def _recipe_comments(path: Path) -> list[Documented]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("#"):
            found += [Documented(f"{path.relative_to(REPO)}:{number}", p) for p in _parts(line.lstrip()[1:])]
    return found


def documented_commands() -> list[Documented]:
    """Every command the README, docs/*.md and the recipes' comments show, in reading order."""
    found = _markdown(REPO / "README.md")
    for path in sorted((REPO / "docs").glob("*.md")):
        found += _markdown(path)
    for path in sorted((REPO / "recipes").rglob("*.yaml")):
        found += _recipe_comments(path)
    return found


# -- what the test does with each one ---------------------------------------------------------------------

#: Documented commands that are not run, each with its reason. A command shown with placeholders or
#: optional parts is a synopsis: its runnable forms are run where the docs show them.
NOT_RUN: dict[str, str] = {
    "gnivo eval --backend vllm": "a fragment naming an option; the vLLM backend runs in tests/vllm",
    "gnivo eval --backend hf": "a fragment naming an option (the default backend, run by every eval here)",
    "gnivo eval --model DIR": "a fragment (DIR stands for a run); `--model runs/my-run` is run",
    "gnivo train recipes/math.yaml [--set algorithm.alpha=0.1 ...] [--output-dir DIR] [--resume]": "a synopsis",
    "gnivo train RECIPE --num-processes 2": "a synopsis (RECIPE); two processes run in test_multiprocess.py",
    "gnivo eval --bench aime24 --pass-at 1 --pass-at 3 [--model runs/my-run]": "a synopsis; both forms run",
    "gnivo score completions.jsonl --reward math [--param workers=-1]": "a synopsis; both forms run",
    "gnivo rewards list [--check]": "a synopsis; both forms run",
    "gnivo plot DIR...": "a synopsis; `gnivo plot runs/cmp` is run",
    "gnivo plot RUN_DIR...": "a synopsis; `gnivo plot runs/cmp` is run",
    "gnivo --debug ...": "a synopsis (any command with --debug)",
    "gnivo eval --bench terse --model ...": "a synopsis; the example plugin's benchmark runs in test_example_plugin.py",
    "gnivo train RECIPE --num-processes N [--accelerate-config FILE]": "a synopsis",
    "accelerate launch --num_processes N [--config_file FILE] -m gnivo_cli ...": "a synopsis",
    "gnivo eval --num-processes N": "a synopsis; several eval processes run in test_eval_processes.py",
    "gnivo eval --num-processes": "a fragment naming an option; several eval processes run in test_eval_processes.py",
    "gnivo export RUN --merge -o DIR": "a synopsis; `gnivo export runs/quickstart/checkpoint-50 ...` is run",
    "gnivo values my-model --ref base-model --data prompts.jsonl": (
        "a synopsis (a fine-tuned model and its base); --ref runs in tests/integration/test_values_cli.py"
    ),
    "trl vllm-serve --data-parallel-size N --tensor-parallel-size M": "a synopsis of trl's server (GPUs)",
    "trl vllm-serve --data-parallel-size 8": "trl's vLLM server on 8 GPUs",
    "CUDA_VISIBLE_DEVICES=0 trl vllm-serve --model Qwen/Qwen2.5-Math-7B": "trl's vLLM server on a GPU",
    "accelerate launch --config_file recipes/accelerate/multi_gpu.yaml": "a fragment (GPUs)",
    "python benchmarks/credit.py": "the whole credit grid (hours); its runs are `gnivo compare recipes/credit.yaml`",
    "python benchmarks/credit.py --build-model-only": (
        "pretrains a model into the repository's runs/credit (minutes); the compare of recipes/credit.yaml runs "
        "with the tiny model instead"
    ),
    "python benchmarks/faults.py": "the fault table (minutes); its cases run in tests/integration/test_faults.py",
    "python benchmarks/theory_bias.py": "a measurement (minutes) whose output is in benchmarks/RESULTS.md",
    "gnivo train recipes/quickstart.yaml --num-processes 2": (
        "two training processes (minutes on 2 cores); the same launch runs in tests/integration/test_multiprocess.py"
    ),
    "ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 -m gnivo_cli train recipes/quickstart.yaml": (
        "two training processes (minutes on 2 cores); the same launch runs in tests/integration/test_multiprocess.py"
    ),
    **{
        f"accelerate launch --config_file recipes/accelerate/{config}.yaml -m gnivo_cli train recipes/math.yaml": (
            "a GPU accelerate config (its file is checked in tests/unit/test_accelerate_configs.py)"
        )
        for config in ("multi_gpu", "zero2", "zero3", "fsdp2")
    },
    "accelerate launch --config_file recipes/accelerate/multi_gpu.yaml --num_processes 4 -m gnivo_cli train "
    "recipes/math.yaml": "4 GPUs",
    "accelerate launch --config_file recipes/accelerate/multi_gpu.yaml --num_machines 8 --num_processes 64 "
    "--machine_rank $RANK --main_process_ip $MASTER_ADDR --main_process_port 29500 -m gnivo_cli train "
    "recipes/math.yaml": "8 machines of GPUs",
    "CUDA_VISIBLE_DEVICES=1,2,3,4,5,6,7 accelerate launch --config_file recipes/accelerate/multi_gpu.yaml "
    "--num_processes 7 -m gnivo_cli train recipes/math.yaml --set generation.vllm_mode=server": (
        "7 GPUs and a vLLM server"
    ),
}

#: Documented commands shown failing, with the line of their documented output they must print.
SHOWN_FAILING: dict[str, str] = {
    "gnivo train bad.yaml": "error: bad.yaml:14: algorithm.alpha: must be > 0, got 0",
}

#: The substitutions, in order: (what the docs write, what runs here). `{benchmarks}` is the folder of
#: benchmark files (GNIVO_TEST_BENCHMARKS), `{tiny_model}` a tiny local model, `{trained_run}` a run the
#: test trains first, `{reward_model}` a tiny local reward model. Beyond these, `gnivo train` and `gnivo
#: compare` get TINY_RUN's overrides (and a local copy for a hub dataset; a second `gnivo train` into a
#: folder already trained gets a folder of its own), `gnivo eval` TINY_EVAL's options.
SUBSTITUTIONS: list[tuple[str, str]] = [
    ("../shared/benchmarks/", "{benchmarks}/"),
    ("gnivo compare my.yaml", "gnivo compare recipes/quickstart.yaml"),  # "a recipe of your own"
    ("--seeds 3", "--seeds 1"),
    ("--seeds 0,1,2", "--seeds 1"),
    ("runs/my-run", "{trained_run}"),
    # compare counts seeds from the recipe's own: the quickstart runs seed 1
    ("runs/a runs/b runs/c", "runs/cmp/gnivo/seed-1 runs/cmp/grpo/seed-1 runs/cmp/rloo/seed-1"),
    ("RUN/completions.jsonl", "{trained_run}/completions.jsonl"),
    ("runs/quickstart/checkpoint-50", "runs/quickstart/checkpoint-2"),  # the last of two steps
    ("model=OpenAssistant/reward-model-deberta-v3-large-v2", "model={reward_model}"),
]
#: Appended to `gnivo train` and `gnivo compare` (after the command's own --set, so these win; a dry run
#: gets them too, so that it plans the runs the other commands trained).
TINY_RUN = [
    "model.name={tiny_model}",
    "training.max_steps=2",
    "training.per_device_batch_size=2",
    "training.gradient_accumulation_steps=1",
    "training.warmup_steps=0",
    "training.save_steps=1",
    "training.log_completions=true",
    "training.bf16=false",
    "training.gradient_checkpointing=false",
    "algorithm.num_generations=2",
    "generation.max_new_tokens=4",
    "generation.use_vllm=false",
    "data.limit=4",
]
#: A hub dataset a recipe names -> a local file with the same columns.
HUB_DATA = {"DigitalLearningGmbH/MATH-lighteval": "{benchmarks}/math500.jsonl"}
#: Added to `gnivo eval` where the command does not give them.
TINY_EVAL = {"--model": "{tiny_model}", "--limit": "2", "--max-new-tokens": "4"}


def runnable(command: str, values: dict[str, str]) -> list[str]:
    """The arguments (after `gnivo`) that run `command` here: the substitutions applied."""
    for written, replaced in SUBSTITUTIONS:
        command = command.replace(written, replaced)
    args = shlex.split(command.format(**values))[1:]
    if args[:1] in (["train"], ["compare"]):
        recipe = Path(values["cwd"], args[1])
        args += [item for override in TINY_RUN for item in ("--set", override.format(**values))]
        source = _recipe_value(recipe, args, "data", "source")
        if source in HUB_DATA:
            args += ["--set", f"data.source={HUB_DATA[source].format(**values)}"]
        output = _recipe_value(recipe, args, "training", "output_dir")
        if args[0] == "train" and output and Path(values["cwd"], output).exists():
            # Shown as alternatives (math.yaml online and offline): each trains into a folder of its own.
            number = 2
            while Path(values["cwd"], f"{output}-{number}").exists():
                number += 1
            args += ["--output-dir", f"{output}-{number}"]
    if args[:1] == ["eval"] and "--list" not in args:
        for option, value in TINY_EVAL.items():
            if option not in args:
                args += [option, value.format(**values)]
        if "--data" not in args:
            args += ["--data", values["benchmarks"]]
    return args


def _recipe_value(recipe: Path, args: list[str], section: str, key: str) -> str | None:
    """`section.key` as the command sets it (--set), else as the recipe file does."""
    import yaml

    overridden = [a.split("=", 1)[1] for a in args if a.startswith(f"{section}.{key}=")]
    if overridden:
        return overridden[-1]
    data = yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}
    return (data.get(section) or {}).get(key)
