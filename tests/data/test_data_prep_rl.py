"""DAPO and benchmark builders: real benchmark files, DAPO-layout fixtures, veRL's own RLHFDataset."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from omegaconf import OmegaConf
from transformers import AutoTokenizer
from verl.utils.dataset.rl_dataset import RLHFDataset

from data_prep.benchmarks import build_benchmarks, load_registry
from data_prep.cli import main
from data_prep.dapo import build_dapo
from data_prep.errors import PrepError
from data_prep.layouts import DAPO_PREFIX, DAPO_SUFFIX, write_dapo_layout
from data_prep.output import ParquetSink, RL_SCHEMA, rl_batch
from data_prep.text import after_hashes, last_boxed, strip_boxed, strip_wrapper
from data_prep.tokens import load_tokenizer

SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."
COUNTS = {"AIME24": 30, "AIME25": 30, "AMC23": 40, "MATH-500": 500, "Minerva": 272,
          "OlympiadBench": 674, "HMMT25": 30, "BRUMO25": 30, "CMIMC25": 40}
AIME24_0 = "Every morning Aya goes for a $9$-kilometer-long walk and stops at a coffee shop afterwards."


def _rlhf(files, tokenizer_dir, tmp_path):
    config = OmegaConf.create({"max_prompt_length": 1024, "filter_overlong_prompts": True,
                               "filter_overlong_prompts_workers": 1, "cache_dir": str(tmp_path / "verl_cache")})
    return RLHFDataset(files, AutoTokenizer.from_pretrained(tokenizer_dir), config)


@pytest.fixture(scope="module")
def built_benchmarks(tmp_path_factory):
    """`justrl-prep benchmarks` as the README writes it: no --source, the copies shipped with the project."""
    out = tmp_path_factory.mktemp("benchmarks")
    assert main(["benchmarks", "--out", str(out)]) == 0
    return out


def test_answer_and_wrapper_helpers():
    assert strip_boxed("\\boxed{204}") == "204"
    assert strip_boxed(" \\boxed{\\frac{1}{2}} ") == "\\frac{1}{2}"
    assert strip_boxed("\\boxed{1}, \\boxed{2}") == "\\boxed{1}, \\boxed{2}"
    assert last_boxed("so \\boxed{3}; finally $\\boxed{\\sqrt{2}}$.") == "\\sqrt{2}"
    assert last_boxed("\\boxed{unclosed") is None
    assert after_hashes("She pays 3*4 = 12.\n#### 1,234") == "1234"
    assert strip_wrapper(DAPO_PREFIX + "Find x." + DAPO_SUFFIX, DAPO_PREFIX, DAPO_SUFFIX) == "Find x."


def test_benchmarks_from_real_files(built_benchmarks, benchmarks_dir):
    registry = load_registry()
    for name, count in COUNTS.items():
        rows = pq.read_table(built_benchmarks / f"{name}.parquet").to_pylist()
        assert len(rows) == count, name
        assert {r["data_source"] for r in rows} == {name}
        assert all(r["prompt"][0]["content"].endswith(SUFFIX) for r in rows)
        assert not any("boxed" in r["reward_model"]["ground_truth"] for r in rows), name
        assert [r["extra_info"]["index"] for r in rows] == list(range(count))
    aime = pq.read_table(built_benchmarks / "AIME24.parquet").to_pylist()[0]
    assert aime["reward_model"]["ground_truth"] == "204"  # the source writes \boxed{204}
    assert aime["prompt"][0]["content"].startswith(AIME24_0)
    brumo = pq.read_table(built_benchmarks / "BRUMO25.parquet").to_pylist()[0]
    source = pq.read_table(benchmarks_dir / registry.get("BRUMO25").local.path).to_pylist()[0]
    assert brumo["prompt"][0]["content"] == source["problem"].strip() + SUFFIX
    assert brumo["reward_model"]["ground_truth"] == "2^{99}"
    summary = json.loads((built_benchmarks / "benchmarks.summary.json").read_text())
    assert [(s["builder"], s["rows_out"]) for s in summary] == [(f"benchmarks/{n}", c) for n, c in COUNTS.items()]


def test_all_nine_load_in_verl_rlhf_dataset_and_length_checks_agree(built_benchmarks, benchmarks_dir, tiny_tokenizer_dir, tmp_path):
    files = [str(built_benchmarks / f"{name}.parquet") for name in COUNTS]
    dataset = _rlhf(files, tiny_tokenizer_dir, tmp_path)
    # The tiny tokenizer splits text finely, so some prompts exceed 1024 tokens: our own length
    # check must drop exactly the prompts veRL's filter drops.
    summaries = build_benchmarks(tmp_path / "checked", benchmarks_dir, tokenizer=load_tokenizer(str(tiny_tokenizer_dir)))
    too_long = sum(s.dropped["prompt_too_long"] for s in summaries)
    assert too_long > 0
    assert len(dataset) == sum(COUNTS.values()) - too_long
    refiltered = _rlhf([str(tmp_path / "checked" / f"{name}.parquet") for name in COUNTS], tiny_tokenizer_dir, tmp_path)
    assert len(refiltered) == len(dataset)
    item = dataset[0]
    assert item["data_source"] == "AIME24"
    assert item["raw_prompt"][0]["content"].startswith(AIME24_0)
    assert item["reward_model"]["ground_truth"] == "204"
    assert item["index"] == 0


def test_extras_from_local_hub_layout(tmp_path):
    (tmp_path / "src" / "gsm8k").mkdir(parents=True)
    (tmp_path / "src" / "math").mkdir()
    pq.write_table(pa.table({"question": ["Tom has 1,000 apples and buys 234 more. How many?"],
                             "answer": ["1000 + 234 = 1234\n#### 1,234"]}), tmp_path / "src/gsm8k/test.parquet")
    pq.write_table(pa.table({"problem": ["Compute $\\frac{1}{2}+\\frac{1}{2}$."], "level": ["Level 1"],
                             "solution": ["We get $\\boxed{1}$, i.e. \\boxed{\\frac{2}{2}}."]}), tmp_path / "src/math/test.parquet")
    build_benchmarks(tmp_path / "out", tmp_path / "src", ["GSM8K-test", "MATH-test"])
    gsm = pq.read_table(tmp_path / "out/GSM8K-test.parquet").to_pylist()[0]
    math = pq.read_table(tmp_path / "out/MATH-test.parquet").to_pylist()[0]
    assert (gsm["data_source"], gsm["reward_model"]["ground_truth"]) == ("GSM8K-test", "1234")
    assert math["reward_model"]["ground_truth"] == "\\frac{2}{2}"


@pytest.fixture(scope="module")
def dapo_source(tmp_path_factory):
    """30 problems x 100 repeats in DAPO's layout, plus an empty problem, a missing answer and a
    verbatim AIME24 problem (a planted contamination)."""
    problems = [(f"Let n = {i}. Compute the remainder when 7 times n is divided by 11.", str(7 * i % 11)) for i in range(30)]
    problems += [("", "3"), ("A problem whose answer is missing.", ""), (AIME24_0 + " How long is the walk?", "204")]
    return write_dapo_layout(tmp_path_factory.mktemp("dapo") / "dapo.parquet", problems, repeats=100)


def test_dapo_dedup_strips_wrapper_and_reports(dapo_source, built_benchmarks, tmp_path):
    summary = build_dapo(tmp_path / "dapo", str(dapo_source), eval_dir=built_benchmarks, batch_rows=1000)
    rows = pq.read_table(tmp_path / "dapo/train.parquet").to_pylist()
    assert len(rows) == 31 and summary.rows_in == 3300
    assert rows[0]["prompt"] == [{"role": "user", "content": "Let n = 0. Compute the remainder when 7 times n is divided by 11." + SUFFIX}]
    assert rows[5]["reward_model"] == {"ground_truth": "2", "style": "rule-lighteval/MATH_v2"}
    assert {r["data_source"] for r in rows} == {"math_dapo"}
    assert [r["extra_info"]["index"] for r in rows] == list(range(30)) + [32]
    assert rows[0]["extra_info"]["split"] == "train"
    written = json.loads((tmp_path / "dapo/train.summary.json").read_text())
    assert written["dropped"] == {"duplicate_problem": 3069, "empty_problem": 100, "missing_ground_truth": 100}
    assert written["rows_out"] == 31 and written["distinct_problems"] == 31
    report = json.loads((tmp_path / "dapo/train.decontam.json").read_text())
    aime = report["benchmarks"]["AIME24"]
    assert (aime["items"], aime["overlapping"]) == (30, 1)
    assert aime["overlaps"][0]["index"] == 0 and aime["overlaps"][0]["train_rows"] == [30]  # its row in train.parquet
    assert all(b["overlapping"] == 0 for n, b in report["benchmarks"].items() if n != "AIME24")


def test_build_and_decontam_command_write_the_same_report(dapo_source, built_benchmarks, tmp_path):
    """One definition of training rows (rows of train.parquet, repeats included), one report."""
    build_dapo(tmp_path / "dapo", str(dapo_source), keep_duplicates=True, eval_dir=built_benchmarks, batch_rows=1000)
    report = tmp_path / "dapo" / "train.decontam.json"
    from_build = json.loads(report.read_text())
    hit = from_build["benchmarks"]["AIME24"]["overlaps"][0]
    assert hit["train_rows_count"] == 100 and hit["train_rows"][:2] == [30, 61]
    report.unlink()
    assert main(["decontam", "--train", str(tmp_path / "dapo/train.parquet"), "--eval", str(built_benchmarks)]) == 0
    assert json.loads(report.read_text()) == from_build


def test_dapo_keep_duplicates_loads_in_rlhf_dataset(dapo_source, tiny_tokenizer_dir, tmp_path):
    build_dapo(tmp_path / "dapo", str(dapo_source), keep_duplicates=True, decontam=False, batch_rows=777)
    table = pq.read_table(tmp_path / "dapo/train.parquet")
    assert table.num_rows == 3100
    index = table.column("extra_info").combine_chunks().field("index").to_pylist()
    assert len(set(index)) == 3100 and index[:3] == [0, 1, 2] and index[30:33] == [32, 33, 34]
    dataset = _rlhf(str(tmp_path / "dapo/train.parquet"), tiny_tokenizer_dir, tmp_path)
    assert len(dataset) == 3100
    assert dataset[31]["raw_prompt"][0]["content"].startswith("Let n = 0.")
    assert not (tmp_path / "dapo/train.decontam.json").exists()


def test_dapo_drops_prompts_over_the_token_limit(tmp_path, tiny_tokenizer_dir):
    long_problem = "Find the sum of " + " + ".join(str(i) for i in range(2000)) + "."
    source = write_dapo_layout(tmp_path / "d.parquet", [("Compute 2 + 2.", "4"), (long_problem, "1999000")], repeats=3)
    summary = build_dapo(tmp_path / "out", str(source), tokenizer=load_tokenizer(str(tiny_tokenizer_dir)), decontam=False)
    assert summary.dropped == {"prompt_too_long": 3, "duplicate_problem": 2}
    assert pq.read_table(tmp_path / "out/train.parquet").num_rows == 1


def test_bad_input_columns_are_named(tmp_path, capsys):
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"prompt": ["Solve x."], "answer": ["1"]}), bad)
    with pytest.raises(PrepError, match=r"bad\.parquet: column 'prompt' should be a list for 'prompt\.0\.content', found string"):
        build_dapo(tmp_path / "out", str(bad))
    nogt = tmp_path / "nogt.parquet"
    pq.write_table(pa.table({"prompt": [[{"content": "x", "role": "user"}]]}), nogt)
    assert main(["dapo", "--out", str(tmp_path / "out"), "--source", str(nogt)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "nogt.parquet: missing column 'reward_model' (needed for 'reward_model.ground_truth')" in err
    assert main(["benchmarks", "--out", str(tmp_path / "b"), "--names", "AIME26", "--source", str(tmp_path)]) == 2
    assert "unknown benchmark 'AIME26'" in capsys.readouterr().err
    assert not (tmp_path / "out/train.parquet").exists()


def test_crash_removes_the_partial_and_keeps_the_previous_file(tmp_path):
    path = tmp_path / "train.parquet"
    batch = rl_batch("math_dapo", ["p" + SUFFIX], ["MATH"], ["1"], ["rule"], [0], "train", ["a"])
    with ParquetSink(path, RL_SCHEMA) as sink:
        sink.write(batch)
    good = path.read_bytes()
    with pytest.raises(RuntimeError), ParquetSink(path, RL_SCHEMA) as sink:
        sink.write(batch)
        raise RuntimeError("killed mid-build")
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.parquet"]
    with pytest.raises(PrepError, match="unique and increasing"), ParquetSink(path, RL_SCHEMA) as sink:
        sink.write(batch)
        sink.write(batch)


def test_dapo_with_every_row_dropped_fails_and_keeps_the_previous_output(dapo_source, tmp_path, capsys):
    out = tmp_path / "dapo"
    build_dapo(out, str(dapo_source), decontam=False)
    good = (out / "train.parquet").read_bytes()
    empty = write_dapo_layout(tmp_path / "empty.parquet", [("A problem whose answer is missing.", "")], repeats=300)
    capsys.readouterr()
    assert main(["dapo", "--out", str(out), "--source", str(empty), "--no-decontam"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"justrl-prep: error: dapo: 300 rows in, 0 rows out; dropped: missing_ground_truth=300; "
        f"{out / 'train.parquet'} was not written (any previous one is kept)"
    )
    assert (out / "train.parquet").read_bytes() == good
    assert not (out / "train.parquet.partial").exists()


_TERMINATED_MID_BUILD = """
import os, signal, sys
from data_prep import cli, output
output.ParquetSink.write = lambda self, batch: os.kill(os.getpid(), signal.SIGTERM)
sys.exit(cli.main(sys.argv[1:]))
"""


def test_integral_float_ground_truths_become_integers(tmp_path, capsys):
    source = tmp_path / "floats.parquet"
    prompts = [[{"content": DAPO_PREFIX + f"Problem {i}." + DAPO_SUFFIX, "role": "user"}] for i in range(3)]
    pq.write_table(pa.table({"prompt": prompts, "reward_model": [{"ground_truth": v, "style": "rule"} for v in (2.0, 2.5, -3.0)]}), source)
    summary = build_dapo(tmp_path / "out", str(source), decontam=False)
    rows = pq.read_table(tmp_path / "out/train.parquet").to_pylist()
    assert [r["reward_model"]["ground_truth"] for r in rows] == ["2", "2.5", "-3"]
    assert summary.notes["integral_float_answers_as_integers"] == 2
    assert "2 ground truths were integral floats (2.0), written as integers (2)" in capsys.readouterr().out


def test_sigterm_mid_build_removes_the_partial(dapo_source, tmp_path):
    args = ["dapo", "--out", str(tmp_path / "dapo"), "--source", str(dapo_source), "--no-decontam"]
    done = subprocess.run([sys.executable, "-c", _TERMINATED_MID_BUILD, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 143, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("justrl-prep: terminated (SIGTERM)")
    assert list((tmp_path / "dapo").iterdir()) == []


def test_decontam_cli(built_benchmarks, tmp_path, capsys):
    report = tmp_path / "r.json"
    assert main(["decontam", "--train", str(built_benchmarks / "AMC23.parquet"), "--eval", str(built_benchmarks),
                 "--report", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["ngram"] == 13
    assert result["benchmarks"]["AMC23"]["overlapping"] == 40
    assert "decontam AMC23: 40/40 items share a 13-gram" in capsys.readouterr().out
    assert main(["decontam", "--train", str(tmp_path / "none.parquet"), "--eval", str(built_benchmarks)]) == 2
