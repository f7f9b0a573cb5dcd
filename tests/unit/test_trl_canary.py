"""Every private trl name gnivo relies on, in one place: a trl upgrade that moves one fails here first.

gnivo pins trl to 1.16.x. GNIVOTrainer overrides `_calculate_rewards`, `_prepare_inputs` and
`_compute_loss`; the accounting mixin wraps `_generate_and_score_completions` and `_calculate_rewards`;
the loss reads trl's batch keys and trainer state listed below.
"""

from __future__ import annotations

import inspect

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


def test_group_shuffle_replaces_trl_row_shuffle():
    from trl.trainer import utils

    assert callable(utils.split_tensor_dict)
    prepare = inspect.getsource(GRPOTrainer._prepare_inputs)
    assert "shuffle_sequence_dict" in prepare and "steps_per_generation * self.num_iterations" in prepare


def test_trainer_state_exists_on_a_real_trainer(tmp_path, tiny_model_dir):
    from tests.gnivo_trainer_helpers import tiny_gnivo_trainer

    trainer = tiny_gnivo_trainer(tiny_model_dir, tmp_path, lambda completions, **_: [0.0] * len(completions))
    for name in STATE:
        assert hasattr(trainer, name), f"trl trainer state {name!r} is gone"
    assert trainer.args.steps_per_generation >= 1
    # Set by transformers' training loop, read by the loss to scale micro-batches.
    from transformers import Trainer

    assert "self.current_gradient_accumulation_steps =" in inspect.getsource(Trainer)
