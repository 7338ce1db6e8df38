"""Session-wide fixtures: an in-process tokenizer and tiny model, and the real data shipped in the project."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpu_runs import prepared_data_root
from data_prep.tiny_model import build_model, build_tokenizer
from justrl_common import bundled

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for pytest-xdist's `--dist loadgroup` (pyproject's addopts run the suite on two
    workers): every slow test is in one group, so the tests that start Ray, Slurm jobs or a model
    run one after another on one worker (a real-model run alone takes ~16 GiB) while the other worker
    takes the fast tests, a module at a time so that module fixtures are built once. Before
    xdist's own hook, which reads these marks."""
    for item in items:
        if item.path.is_relative_to(HERE):  # a session-wide hook; tests_vllm/ groups its own
            group = "slow" if item.get_closest_marker("slow") else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))


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
