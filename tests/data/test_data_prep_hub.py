"""Offline hub access fails in seconds and names the fix, instead of the hub clients' retries."""

from __future__ import annotations

import os
import socket
import subprocess

import datasets
import pytest
import transformers

from data_prep.cli import main
from data_prep.hub import unreachable_reason


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_hub(monkeypatch):
    """An endpoint that refuses connections; the hub clients must never be called."""
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    for name in ("HF_HUB_OFFLINE", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)

    def called(*args, **kwargs):
        raise AssertionError("the hub client was called, so its retries were not avoided")

    monkeypatch.setattr(datasets, "load_dataset", called)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", called)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["dapo"], "hub dataset 'BytedTsinghua-SIA/DAPO-Math-17k': the hub (http://127.0.0.1:{port}) cannot be "
                   "reached from this machine (Connection refused); build from a local copy instead: --source PATH"),
        (["benchmarks", "--hub", "--names", "AIME24"], "hub dataset 'HuggingFaceH4/aime_2024': the hub"),
        (["openr1-sft", "--tokenizer", "Qwen/Qwen3-4B-Instruct-2507"],
         "tokenizer 'Qwen/Qwen3-4B-Instruct-2507': the hub (http://127.0.0.1:{port}) cannot be reached from this "
         "machine (Connection refused); pass a local model directory (--tokenizer /path/to/model), or set HF_HUB_OFFLINE=1"),
    ],
)
def test_unreachable_hub_stops_at_once_with_the_fix(no_hub, argv, message, tmp_path, capsys):
    port = os.environ["HF_ENDPOINT"].rsplit(":", 1)[1]
    assert main([argv[0], "--out", str(tmp_path / "out"), *argv[1:]]) == 2
    err = capsys.readouterr().err
    assert message.format(port=port) in err.strip().splitlines()[-1]


def test_hf_hub_offline_tries_only_the_cache_and_names_the_fix(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty_cache"),
           "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    out = subprocess.run(["justrl-prep", "benchmarks", "--hub", "--names", "AIME24", "--out", str(tmp_path / "b")],
                         capture_output=True, text=True, timeout=240, env=env)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].endswith(
        "HF_HUB_OFFLINE is set and the hub cache has no copy: build from a local copy instead: --source PATH "
        "(a parquet/jsonl file, or a folder such as a copied hub snapshot)")


def test_a_listening_endpoint_counts_as_reachable(monkeypatch):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        monkeypatch.delenv("HTTPS_PROXY", raising=False)
        monkeypatch.delenv("https_proxy", raising=False)
        assert unreachable_reason() is None
