"""OpenR1 cold-start SFT builder: filters, deterministic sampling, token budget, veRL's SFT dataset."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from omegaconf import OmegaConf
from transformers import AutoTokenizer
from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

from data_prep.cli import main
from data_prep.errors import PrepError
from data_prep.layouts import write_openr1_layout
from data_prep.openr1 import build_openr1_sft, format_problem
from data_prep.tokens import load_tokenizer

SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."


def _good(i: int, words: int = 5) -> str:
    return f"<think>\nWe add {i} and {i}. " + "check " * words + f"\n</think>\n\nThe answer is $\\boxed{{{2 * i}}}$."


def _rows(count: int) -> list[dict]:
    """Each problem: one usable generation (at position 1), plus one failing each kind of filter."""
    rows = []
    for i in range(count):
        rows.append(
            {
                "problem": f"What is {i} + {i}?",
                "answer": str(2 * i),
                "generations": [
                    _good(i) + " wrong",           # math-verify said incorrect
                    _good(i),                      # usable
                    _good(i) + " unfinished",      # usable, but a second one for the problem
                    f"We add {i} and {i}: \\boxed{{{2 * i}}}",  # no think block
                ],
                "correctness_math_verify": [False, True, True, True],
                "is_reasoning_complete": [True, True, True, True],
            }
        )
    rows.append({"problem": "Incomplete one", "answer": "1", "generations": [_good(0), "<think>x</think> no box"],
                 "correctness_math_verify": [True, True], "is_reasoning_complete": [False, True]})
    return rows


def test_format_filter():
    assert format_problem(_good(3)) is None
    assert format_problem("<think>a</think><think>b</think> \\boxed{1}") == "malformed_think"
    assert format_problem("Intro <think>a</think> \\boxed{1}") == "malformed_think"
    assert format_problem("<think>  </think> \\boxed{1}") == "malformed_think"
    assert format_problem("<think>reason \\boxed{1}</think> so 1.") == "no_boxed_answer"


@pytest.fixture(scope="module")
def tokenizer(tiny_tokenizer_dir):
    return load_tokenizer(str(tiny_tokenizer_dir))


@pytest.fixture(scope="module")
def openr1_source(tmp_path_factory):
    return write_openr1_layout(tmp_path_factory.mktemp("openr1") / "openr1.parquet", _rows(60))


def test_filters_split_and_summary(openr1_source, tokenizer, tmp_path):
    summary = build_openr1_sft(tmp_path / "sft", tokenizer, str(openr1_source), n=20, max_tokens=8192, seed=0, val_size=5)
    train = pq.read_table(tmp_path / "sft/train.parquet").to_pylist()
    val = pq.read_table(tmp_path / "sft/val.parquet").to_pylist()
    assert (len(train), len(val)) == (20, 5)
    first = train[0]["messages"]
    assert [m["role"] for m in first] == ["user", "assistant"]
    i = int(first[0]["content"].split()[2])
    assert first[0]["content"] == f"What is {i} + {i}?" + SUFFIX
    assert first[1]["content"] == _good(i)
    assert train[0]["extra_info"]["source_id"].endswith(":1")
    problems = {r["messages"][0]["content"] for r in train + val}
    assert len(problems) == 25  # one generation per problem: train and val never share a problem
    written = json.loads((tmp_path / "sft/train.summary.json").read_text())
    assert written["rows_in"] == 242
    assert written["dropped"] == {
        "not_verified_correct": 60, "other_generation_of_problem": 60, "malformed_think": 60,
        "reasoning_incomplete": 1, "no_boxed_answer": 1, "not_sampled": 35,
    }
    assert written["rows_out"] + sum(written["dropped"].values()) == written["rows_in"]
    assert summary.notes["shortfall"] == 0


def test_sampling_is_deterministic_per_seed(openr1_source, tokenizer, tmp_path):
    def sample(seed, out):
        build_openr1_sft(tmp_path / out, tokenizer, str(openr1_source), n=10, seed=seed, val_size=0)
        return [r["extra_info"]["source_id"] for r in pq.read_table(tmp_path / out / "train.parquet").to_pylist()]

    assert sample(0, "a") == sample(0, "b")
    assert sample(0, "a") != sample(1, "c")
    assert not (tmp_path / "a/val.parquet").exists()


def test_rebuild_replaces_the_whole_output_set(openr1_source, tokenizer, tmp_path):
    build_openr1_sft(tmp_path / "sft", tokenizer, str(openr1_source), n=20, seed=0, val_size=5)
    assert (tmp_path / "sft/val.parquet").exists()
    (tmp_path / "sft/val.parquet.partial").write_bytes(b"PAR1 cut short by a SIGKILL")
    build_openr1_sft(tmp_path / "sft", tokenizer, str(openr1_source), n=25, seed=0, val_size=0)
    # The old val.parquet held problems that are now in train.parquet: it must not stay behind.
    assert sorted(p.name for p in (tmp_path / "sft").iterdir()) == ["train.parquet", "train.summary.json"]
    assert pq.read_table(tmp_path / "sft/train.parquet").num_rows == 25


def test_token_budget_and_verl_sft_dataset(tmp_path, tokenizer, tiny_tokenizer_dir):
    rows = _rows(6)
    rows[0]["generations"][1] = _good(0, words=3000)  # far beyond a 512-token budget
    source = write_openr1_layout(tmp_path / "o.parquet", rows)
    summary = build_openr1_sft(tmp_path / "sft", tokenizer, str(source), n=4, max_tokens=512, val_size=1)
    assert summary.dropped["over_token_budget"] == 1
    assert summary.rows_out == 5
    config = OmegaConf.create({"max_length": 512, "truncation": "error", "messages_key": "messages"})
    dataset = MultiTurnSFTDataset(str(tmp_path / "sft/train.parquet"), AutoTokenizer.from_pretrained(tiny_tokenizer_dir), config)
    assert len(dataset) == 4
    item = dataset[0]
    hf = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    trained = hf.decode(item["input_ids"][item["loss_mask"].bool()])
    assert trained.startswith("<think>") and "\\boxed{" in trained
    assert "What is" not in trained  # only the assistant turn carries loss


def test_bad_openr1_columns_and_cli(tmp_path, tiny_tokenizer_dir, capsys):
    import pyarrow as pa

    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"problem": ["p"], "generations": ["not a list"]}), bad)
    with pytest.raises(PrepError, match=r"bad\.parquet: column 'generations' expected list<string>, found string"):
        build_openr1_sft(tmp_path / "out", load_tokenizer(str(tiny_tokenizer_dir)), str(bad))
    assert main(["openr1-sft", "--out", str(tmp_path / "o"), "--tokenizer", str(tiny_tokenizer_dir),
                 "--source", str(bad), "--n", "5"]) == 2
    assert "column 'generations' expected list<string>, found string" in capsys.readouterr().err
    assert main(["openr1-sft", "--out", str(tmp_path / "o"), "--tokenizer", str(tmp_path / "nope"), "--n", "5"]) == 2
    assert f"tokenizer '{tmp_path / 'nope'}' could not be loaded" in capsys.readouterr().err
