"""justrl-eval's vLLM engine for real, on vLLM's CPU backend: what it returns, the JustRL sampling
settings, a killed run resumed, grading, and justrl-format-check through the same engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from transformers import AutoTokenizer

from justrl.cli.eval import build_engine, load_config
from justrl.eval.benchmarks import load_items
from justrl.eval.engine import SamplingSpec
from justrl.eval.generate import render_prompts
from justrl.eval.records import read_records
from justrl.eval.transformers_engine import TransformersEngine

# Hard limits: a vLLM start or a Ray cluster that never answers fails the test instead of hanging CI.
START_S = 300
pytestmark = pytest.mark.timeout(600)


def cli(command: str, *args: str, timeout: float = START_S) -> subprocess.CompletedProcess:
    """One of the project's commands in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", command, *args], capture_output=True, text=True, timeout=timeout)


def prompt_lengths(model: Path, data_dir: Path, names: list[str], limit: int) -> dict[str, list[int]]:
    """Token counts of the chat-templated prompts justrl-eval sends, per benchmark."""
    tokenizer = AutoTokenizer.from_pretrained(model)
    return {
        name: [len(tokenizer.encode(p, add_special_tokens=False))
               for p in render_prompts(tokenizer, load_items(name, data_dir, limit))]
        for name in names
    }


def test_greedy_completions_match_the_transformers_engine(tiny_vllm_model, data_dir):
    """At temperature 0 both engines must produce the same tokens: same text, token count (EOS
    included) and finish reason for every one of the n completions of a benchmark prompt."""
    items = load_items("AIME24", data_dir, limit=3)
    prompts = render_prompts(AutoTokenizer.from_pretrained(tiny_vllm_model), items)
    greedy = SamplingSpec(temperature=0.0, top_p=1.0, max_new_tokens=48, seed=0)
    engine = build_engine(load_config([f"model={tiny_vllm_model}", "vllm_device=cpu"]), str(tiny_vllm_model))
    try:
        got = engine.generate(prompts, 2, greedy)
    finally:
        engine.close()
    want = TransformersEngine(str(tiny_vllm_model)).generate(prompts, 2, greedy)
    assert [len(c) for c in got] == [2, 2, 2]
    assert got == want
    assert {c.finish_reason for cs in got for c in cs} == {"stop", "length"}
    assert all(c.num_tokens == 48 for cs in got for c in cs if c.finish_reason == "length")


def wait_for_records(path: Path, proc: subprocess.Popen, timeout: float) -> None:
    """Block until `path` holds at least one complete record."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists() and read_records(path).records:
            return
        time.sleep(0.05)
    raise AssertionError(f"no record in {path} after {timeout} s (exit code {proc.poll()})")


def test_protocol_run_killed_resumed_and_graded(tiny_vllm_model, data_dir, tmp_path):
    """justrl-eval with the JustRL protocol's N, temperature, top_p and token cap (clamped to the
    context window), SIGKILLed after its first shard, rerun to completion, then graded."""
    names, limit = ["AIME24", "AMC23"], 4
    lengths = prompt_lengths(tiny_vllm_model, data_dir, names, limit)
    # A context just 24 tokens longer than the longest prompt: every completion is capped by
    # max_model_len - prompt length, vLLM's limit, not by the protocol's 31744 new tokens.
    max_model_len = max(max(v) for v in lengths.values()) + 24
    out = tmp_path / "eval"
    args = [f"model={tiny_vllm_model}", "vllm_device=cpu", f"benchmarks=[{','.join(names)}]", f"limit={limit}",
            f"data_dir={data_dir}", f"out={out}", "progress=false", "engine.shard_sequences=32",
            f"engine.vllm.max_model_len={max_model_len}"]
    log = (tmp_path / "killed.log").open("w")
    first = subprocess.Popen([sys.executable, "-m", "justrl.cli.eval", *args], stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        wait_for_records(out / "AIME24.jsonl", first, START_S)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the job and everything it started, as a preempted node
        first.wait()
    kept = len(read_records(out / "AIME24.jsonl").records)
    assert 1 <= kept < limit, "the run finished before it was killed: nothing was resumed"

    rerun = cli("justrl.cli.eval", *args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "enable_prefix_caching=True" in rerun.stdout + rerun.stderr
    assert f"justrl-eval: AIME24: {limit - kept} problems generated, {kept} already done" in rerun.stdout
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["sampling"] == {"temperature": 0.7, "top_p": 0.9, "max_new_tokens": 31744, "seed": 0}
    assert manifest["benchmarks"] == {"AIME24": {"n": 32}, "AMC23": {"n": 32}}
    reasons, texts = set(), []
    for name in names:
        result = read_records(out / f"{name}.jsonl")
        assert result.malformed == 0  # a line torn by the kill is dropped on resume
        assert sorted(r["index"] for r in result.records) == list(range(limit))  # complete, none twice
        for record in result.records:
            cap = max_model_len - lengths[name][record["index"]]
            responses = record["responses"]
            assert record["n"] == 32 and len(responses) == 32
            assert all(r["finish_reason"] in ("stop", "length") for r in responses)
            assert all(r["num_tokens"] == cap for r in responses if r["finish_reason"] == "length")
            assert all(1 <= r["num_tokens"] <= cap for r in responses if r["finish_reason"] == "stop")  # EOS counted
            reasons |= {r["finish_reason"] for r in responses}
            texts += [r["text"] for r in responses]
    assert reasons == {"stop", "length"}
    assert len(set(texts)) > 32  # sampled at temperature 0.7, not 32 copies of one greedy answer

    graded = cli("justrl.cli.grade", str(out), "--workers", "1", "--no-progress")
    assert graded.returncode == 0, graded.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert {name: results["benchmarks"][name]["samples"] for name in names} == {"AIME24": 128, "AMC23": 128}


def test_format_check_samples_through_the_vllm_engine(tiny_vllm_model, tmp_path):
    data = tmp_path / "val.parquet"
    rows = [[{"role": "user", "content": f"What is {i} + {i}?"}, {"role": "assistant", "content": "<think>x</think> \\boxed{0}"}]
            for i in range(3)]
    pq.write_table(pa.table({"messages": rows}), data)
    out = tmp_path / "format"
    proc = cli("justrl.cli.format_check", f"model={tiny_vllm_model}", f"data={data}", "vllm_device=cpu", "n=4",
               "limit=2", f"out={out}", "sampling.max_new_tokens=16", "progress=false")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "justrl-format-check: 2 prompts, 8 responses" in proc.stdout.splitlines()  # among Ray's forwarded logs
    records = read_records(out / "responses.jsonl").records
    assert [r["problem"] for r in records] == ["What is 0 + 0?", "What is 1 + 1?"]
    assert all(len(r["responses"]) == 4 and all(1 <= x["num_tokens"] <= 16 for x in r["responses"]) for r in records)
    rates = json.loads((out / "responses.format_rates.json").read_text())
    assert (rates["prompts"], rates["responses"]) == (2, 8)
