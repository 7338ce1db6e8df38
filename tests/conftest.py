"""Session-wide fixtures: an in-process tokenizer and tiny model, and the real data shipped in the project."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpu_runs import prepared_data_root
from data_prep.tiny_model import build_model, build_tokenizer
from justrl_common import bundled

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory) -> Path:
    """A HF tokenizer directory with ChatML tokens and chat template."""
    return build_tokenizer(tmp_path_factory.mktemp("tiny_tokenizer"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A HF model directory (tiny random Qwen2 + tokenizer), 32K positions like the real backbones."""
    return build_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def tiny_data_root(tmp_path_factory) -> Path:
    """A JUSTRL_DATA_DIR holding what `justrl-prep tiny` writes (task, SFT rows, warm-started model)."""
    return prepared_data_root(tmp_path_factory, "tiny")


@pytest.fixture(scope="session")
def benchmarks_dir() -> Path:
    """The nine real benchmark parquet files shipped in the package (justrl_common/bundled/benchmarks)."""
    return bundled.benchmarks_dir()


@pytest.fixture(scope="session")
def histories_dir() -> Path:
    """Recorded JustTinker per-step metrics shipped in the package (justrl_common/bundled/histories)."""
    return bundled.histories_dir()
