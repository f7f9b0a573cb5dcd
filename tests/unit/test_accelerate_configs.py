"""recipes/accelerate/*.yaml go through accelerate's own launch validation and plugin construction, the path
`accelerate launch --config_file FILE -m gnivo_cli train RECIPE` takes; the DeepSpeed ones are also parsed by
DeepSpeed itself where the `deepspeed` extra is installed."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from unittest import mock

import pytest

from gnivo_cli.recipe.loader import load_recipe

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "recipes" / "accelerate"
RECIPE = ROOT / "recipes" / "math.yaml"


def _launch_args(config: str):
    """accelerate's parsed and validated launch arguments, config file merged in (no process started)."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    parser = launch_command_parser()
    args = parser.parse_args(["--config_file", str(CONFIGS / config), "-m", "gnivo_cli", "train", str(RECIPE)])
    return _validate_launch_command(args)


def _deepspeed_plugin(config: str):
    """The DeepSpeedPlugin a launched process builds from the environment `accelerate launch` gives it."""
    from accelerate.utils import DeepSpeedPlugin
    from accelerate.utils.launch import prepare_deepspeed_cmd_env

    args, defaults, mixed_precision_from_config = _launch_args(config)
    assert args.use_deepspeed and not args.use_fsdp
    fields = list(defaults.deepspeed_config) + (["mixed_precision"] if mixed_precision_from_config else [])
    args.deepspeed_fields_from_accelerate_config = ",".join(fields)
    _, env = prepare_deepspeed_cmd_env(args)
    with mock.patch.dict(os.environ, env, clear=True):
        plugin = DeepSpeedPlugin()
        plugin.set_mixed_precision(env["ACCELERATE_MIXED_PRECISION"])
    return plugin


def test_every_shipped_config_is_tested():
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == [
        "fsdp2.yaml",
        "multi_gpu.yaml",
        "zero2.yaml",
        "zero3.yaml",
    ]


def test_launch_runs_the_gnivo_module():
    args, _, _ = _launch_args("zero3.yaml")
    assert args.module and args.training_script == "gnivo_cli"
    assert args.training_script_args == ["train", str(RECIPE)]


def test_multi_gpu_is_plain_data_parallel_in_bf16():
    from accelerate.utils import DistributedType
    from accelerate.utils.launch import prepare_multi_gpu_env

    args, defaults, _ = _launch_args("multi_gpu.yaml")
    assert defaults.distributed_type == DistributedType.MULTI_GPU
    assert args.multi_gpu and not args.use_deepspeed and not args.use_fsdp
    env = prepare_multi_gpu_env(args)
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16"
    assert "ACCELERATE_USE_FSDP" not in env


@pytest.mark.parametrize(("config", "stage"), [("zero2.yaml", 2), ("zero3.yaml", 3)])
def test_deepspeed_configs_leave_batch_settings_to_the_recipe(config, stage):
    plugin = _deepspeed_plugin(config)
    ds = plugin.deepspeed_config
    assert ds["zero_optimization"]["stage"] == stage
    assert ds["bf16"]["enabled"] is True and ds["fp16"]["enabled"] is False
    # "auto" lets the trainer fill these from the recipe; a number here would fight training.* settings.
    for key in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "gradient_clipping"):
        assert ds[key] == "auto", key
    if stage == 3:
        assert plugin.zero3_init_flag is True
        assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


@pytest.mark.parametrize(("config", "stage"), [("zero2.yaml", 2), ("zero3.yaml", 3)])
def test_deepspeed_accepts_the_config_filled_from_the_recipe(config, stage):
    if importlib.util.find_spec("deepspeed") is None:
        pytest.skip("deepspeed is not installed (the optional extra: pip install 'gnivo[deepspeed]')")
    from deepspeed.runtime.config import DeepSpeedConfig

    training = load_recipe(RECIPE).training
    plugin = _deepspeed_plugin(config)
    micro, accumulation = training.per_device_batch_size, training.gradient_accumulation_steps
    plugin.deepspeed_config_process(
        must_match=False,
        train_micro_batch_size_per_gpu=micro,
        gradient_accumulation_steps=accumulation,
        train_batch_size=micro * accumulation,  # world size 1 in this process
        gradient_clipping=training.max_grad_norm,
    )
    parsed = DeepSpeedConfig(plugin.deepspeed_config)
    assert parsed.zero_optimization_stage == stage
    assert parsed.train_micro_batch_size_per_gpu == micro
    assert parsed.gradient_accumulation_steps == accumulation
    assert parsed.bfloat16_config.enabled


def test_fsdp2_builds_accelerates_fsdp2_plugin():
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_multi_gpu_env
    from torch.distributed.fsdp import StateDictType

    args, _, _ = _launch_args("fsdp2.yaml")
    assert args.use_fsdp and not args.use_deepspeed
    env = prepare_multi_gpu_env(args)
    assert env["ACCELERATE_USE_FSDP"] == "true"
    with mock.patch.dict(os.environ, env, clear=True):
        plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2
    assert plugin.reshard_after_forward is True
    # A full state dict, so checkpoints and final/ load with plain transformers/peft.
    assert plugin.state_dict_type == StateDictType.FULL_STATE_DICT
    assert plugin.cpu_ram_efficient_loading is True
