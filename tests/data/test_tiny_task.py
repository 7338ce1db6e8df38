"""What `justrl-prep tiny` writes for the laptop pipeline: the held-out split as the TinyAdd
benchmark justrl-eval reads, and cold-start rows that teach the format, not the sums."""

import subprocess

import pandas as pd
import pytest

from data_prep.benchmarks import build_benchmark, load_registry
from data_prep.errors import PrepError


def test_tinyadd_benchmark_is_the_held_out_split(tiny_data_root):
    val = pd.read_parquet(tiny_data_root / "tiny" / "val.parquet")
    bench = pd.read_parquet(tiny_data_root / "tiny" / "benchmarks" / "TinyAdd.parquet")
    assert len(bench) == 20
    assert [p[0]["content"] for p in bench["prompt"]] == [p[0]["content"] for p in val["prompt"]]
    assert [r["ground_truth"] for r in bench["reward_model"]] == [r["ground_truth"] for r in val["reward_model"]]
    assert set(bench["data_source"]) == {"TinyAdd"} and set(val["data_source"]) == {"tiny_add"}
    train = pd.read_parquet(tiny_data_root / "tiny" / "train.parquet")
    assert not {p[0]["content"] for p in train["prompt"]} & {p[0]["content"] for p in bench["prompt"]}


def test_cold_start_rows_answer_in_the_target_format_with_a_fixed_think_sentence(tiny_data_root):
    rl = pd.read_parquet(tiny_data_root / "tiny" / "train.parquet")
    sft = pd.read_parquet(tiny_data_root / "tiny" / "sft" / "train.parquet")
    answers = [m[-1]["content"] for m in sft["messages"]]
    truths = [r["ground_truth"] for r in rl["reward_model"]]
    assert answers == [f"<think>I add the two numbers.</think>\n\n\\boxed{{{t}}}" for t in truths]


def test_tinyadd_is_an_extra_without_a_hub_copy(tmp_path):
    spec = load_registry().get("TinyAdd")
    assert (spec.extra, spec.hub, spec.samples) == (True, None, 8)
    with pytest.raises(PrepError, match="TinyAdd has no hub copy; its command writes it"):
        build_benchmark(spec, tmp_path, "", None, None, {})


def test_justrl_eval_lists_tinyadd_among_the_extras():
    done = subprocess.run(["justrl-eval", "--help"], capture_output=True, text=True, timeout=120)
    assert "TinyAdd" in done.stdout
