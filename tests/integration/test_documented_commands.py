"""Every command README.md, docs/*.md and the recipes' comments show runs here, so a command that stops
working fails CI: on a tiny model and two steps, in a scratch folder holding a copy of recipes/, with the
substitutions of tests/documented_commands.py (its module docstring says what counts as a command). A
command that cannot run here is listed there with its reason; one that is neither run nor listed fails.

`gnivo` commands run in this process (typer's runner, `gnivo_cli.cli.main`); `gnivo compare` trains its
runs in this process too. Commands run in the order training first, then what reads its runs.
"""

from __future__ import annotations

import json
import shutil
import traceback

import pytest

from tests.documented_commands import NOT_RUN, REPO, SHOWN_FAILING, documented_commands, runnable

pytestmark = pytest.mark.slow

#: Which commands run first: a command that reads runs (plot, eval --model runs/...) after those that train.
_ORDER = {"train": 0, "compare": 1, "plot": 2}


def test_every_documented_command_is_run_or_listed():
    documented = documented_commands()
    assert len(documented) > 40  # the extraction still finds the docs' commands
    commands = {d.command for d in documented}
    assert not set(NOT_RUN) & set(SHOWN_FAILING)
    stale = sorted((set(NOT_RUN) | set(SHOWN_FAILING)) - commands)
    assert not stale, f"listed but no longer documented (remove them from tests/documented_commands.py): {stale}"
    # The test below runs every `gnivo` command that is not listed; any other program must be listed.
    unlisted = [d for d in documented if not d.command.startswith("gnivo ") and d.command not in NOT_RUN]
    assert not unlisted, f"documented commands neither run nor listed in NOT_RUN: {unlisted}"


@pytest.fixture
def workdir(tmp_path, tiny_model_dir, shared_benchmarks, monkeypatch):
    """A scratch folder as a reader's would look: recipes/, the files the docs' commands read."""
    shutil.copytree(REPO / "recipes", tmp_path / "recipes")
    rows = [
        {"prompt": "What is 2+2?", "completion": "So \\boxed{4}.", "answer": "4"},
        {"prompt": "What is 3+3?", "completion": "It is 7.", "answer": "6"},
    ]
    for name in ("completions.jsonl", "summaries.jsonl"):
        (tmp_path / name).write_text("".join(json.dumps(row) + "\n" for row in rows))
    # README's failing example: alpha 0 on line 14, a batch of 6 for K = 4 on line 18.
    lines = ["# a recipe with two mistakes"] * 11 + ["rewards: [{name: math}]", "algorithm:", "  alpha: 0"]
    lines += ["  num_generations: 4", "# -", "training:", "  per_device_batch_size: 6"]
    (tmp_path / "bad.yaml").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    return {
        "benchmarks": str(shared_benchmarks),
        "tiny_model": str(tiny_model_dir),
        "trained_run": str(tmp_path / "runs" / "quickstart"),
        "reward_model": str(_tiny_reward_model(tmp_path / "reward-model")),
        "cwd": str(tmp_path),
    }


def _tiny_reward_model(path):
    import torch
    from transformers import LlamaForSequenceClassification

    from gnivo_cli.models.tiny import tiny_llama_config, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    LlamaForSequenceClassification(tiny_llama_config(tokenizer, num_labels=1)).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _in_process_launcher(run, resume):
    """`gnivo compare`'s runs trained in this process rather than one process each (the same `train`)."""
    from gnivo_cli.training.train import train

    train(run.recipe, resume=resume)


def _gnivo(args: list[str], capsys) -> tuple[int, str]:
    from gnivo_cli.cli import main

    code = 0
    try:
        main(args)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except Exception:  # a traceback is a failure to report, not to stop the other commands for
        traceback.print_exc()
        code = -1
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_documented_commands_run(workdir, capsys, monkeypatch):
    import gnivo_cli.compare.grid as grid

    monkeypatch.setattr(grid, "launch_subprocess", _in_process_launcher)
    commands = list(dict.fromkeys(d.command for d in documented_commands() if d.command not in NOT_RUN))
    commands.sort(key=lambda command: _ORDER.get(command.split()[1] if len(command.split()) > 1 else "", 3))
    failures = []
    for command in commands:
        args = runnable(command, workdir)
        code, output = _gnivo(args, capsys)
        shown = SHOWN_FAILING.get(command)
        ok = code == 0 if shown is None else code == 1 and shown in output.splitlines()
        if not ok:
            failures.append(f"{command}\n  ran: gnivo {' '.join(args)}\n  exit {code}: {output.strip()[-1500:]}")
    assert not failures, "documented commands that fail:\n" + "\n".join(failures)
