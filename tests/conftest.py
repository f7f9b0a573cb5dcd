"""Shared fixtures: tiny models and tokenizers built locally (no network, a few seconds)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gnivo_cli.models.tiny import save_tiny_model
from gnivo_cli.models.tiny import tiny_tokenizer as build_tiny_tokenizer

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One thread per test worker: oversubscribed OpenMP threads spin and slow everything down many-fold.
    # Set before torch is imported, and inherited by the CLI subprocesses tests start.
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"

#: Benchmark and training sets are not part of the repository: tests that need them read the folder named
#: here (the README's test command sets it to ../shared/benchmarks) and skip where it is unset or missing.
BENCHMARKS_ENV = "GNIVO_TEST_BENCHMARKS"


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return build_tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A saved 2-layer Llama (hidden size 32) with its tokenizer: a model reference any command accepts."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def shared_benchmarks() -> Path:
    folder = os.environ.get(BENCHMARKS_ENV)
    if not folder:
        pytest.skip(f"{BENCHMARKS_ENV} is unset: benchmark files are not part of the repository")
    path = Path(folder).resolve()
    if not path.is_dir():
        pytest.skip(f"{BENCHMARKS_ENV}={folder}: no such folder")
    return path


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    # Tests never reach a hub: make any accidental download fail fast instead of hanging.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
