"""A GNIVOTrainer on the tiny model with a plain Python reward, for tests of its trl seams."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def tiny_gnivo_trainer(model_dir: Path, output_dir: Path, reward, **config: Any):
    from datasets import Dataset
    from transformers import AutoTokenizer

    from gnivo_cli.algorithms.gnivo.trainer import GNIVOConfig, GNIVOTrainer

    settings = dict(
        output_dir=str(output_dir),
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
        logging_steps=1,
        max_steps=1,
        per_device_train_batch_size=4,
        num_generations=2,
        max_completion_length=6,
        learning_rate=1e-2,
        seed=0,
    )
    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    dataset = Dataset.from_list([{"prompt": f"What is {i} + 1?"} for i in range(8)])
    return GNIVOTrainer(
        model=str(model_dir),
        reward_funcs=[reward],
        args=GNIVOConfig(**{**settings, **config}),
        train_dataset=dataset,
        processing_class=tokenizer,
    )
