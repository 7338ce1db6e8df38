"""The preflight reads every row (issue 24 items 6 and 7): ground truths by a column scan, prompt
lengths with the model's tokenizer, counted as veRL's own over-long filter counts them."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from omegaconf import OmegaConf

from justrl import ground_truths
from justrl.ground_truths import scan_ground_truths
from justrl.prompt_lengths import find_overlong, load_tokenizer


def _rl_rows(n: int, truth=lambda i: str(i + 1)) -> list[dict]:
    return [
        {
            "data_source": "tiny_add",
            "prompt": [{"role": "user", "content": f"What is {i} + 1?"}],
            "ability": "math",
            "reward_model": {"ground_truth": truth(i), "style": "rule"},
        }
        for i in range(n)
    ]


def test_every_row_is_scanned_across_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(ground_truths, "BATCH_ROWS", 100)  # several batches, so offsets are exercised
    bad = {250: None, 333: "", 480: " \n", 499: "x" * 1001}
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(_rl_rows(500, lambda i: bad.get(i, str(i)))), path)
    found = scan_ground_truths(str(path))
    assert (found.count, found.rows, found.first_row, found.first_value) == (4, 500, 250, None)


@pytest.mark.parametrize(
    ("truth", "bad"),
    [
        (lambda i: i, None),  # integers are graded as their string
        (lambda i: float(i), None),
        (lambda i: math.nan if i == 7 else float(i), (1, 7)),
        (lambda i: [str(i)], (10, 0)),  # a list is never equal to a boxed answer
        (lambda i: True, (10, 0)),
    ],
    ids=["int", "float", "nan", "list", "bool"],
)
def test_ground_truth_types(tmp_path, truth, bad):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(_rl_rows(10, truth)), path)
    found = scan_ground_truths(str(path))
    assert (found.count, found.first_row) == bad if bad else found is None


def test_a_reward_model_without_ground_truth_is_named(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist([{"reward_model": {"answer": "1"}}]), path)
    with pytest.raises(KeyError, match="not a struct with a ground_truth field"):
        scan_ground_truths(str(path))


def test_prompt_lengths_agree_with_verl_filter(tiny_data_root, tmp_path):
    """veRL's RLHFDataset with filter_overlong_prompts keeps exactly the rows the preflight does
    not count, at limits below, between and above the prompts' lengths."""
    from verl.utils.dataset.rl_dataset import RLHFDataset

    rows = pq.read_table(tiny_data_root / "tiny" / "train.parquet").to_pylist()
    for index in (5, 6, 40):
        rows[index]["prompt"] = [{"role": "user", "content": "What is 1 + 1? " * (index + 10)}]
    rows[7]["prompt"] = [{"role": "system", "content": "Add."}, *rows[7]["prompt"]]
    path = tmp_path / "mixed.parquet"
    pq.write_table(pa.Table.from_pylist(rows + rows[:30]), path)  # duplicates count once each row
    cfg = OmegaConf.create(
        {"data": {"prompt_key": "prompt", "max_prompt_length": 0}, "actor_rollout_ref": {"model": {"path": str(tiny_data_root / "tiny" / "model")}}}
    )
    tokenizer = load_tokenizer(cfg)
    counted = []
    for limit in (30, 36, 80, 1000):
        cfg.data.max_prompt_length = limit
        found, measured, distinct = find_overlong(str(path), cfg, tokenizer)
        dataset_cfg = OmegaConf.create({"prompt_key": "prompt", "max_prompt_length": limit, "filter_overlong_prompts": True, "filter_overlong_prompts_workers": 1, "cache_dir": str(tmp_path / "cache")})
        kept = len(RLHFDataset(data_files=[str(path)], tokenizer=tokenizer, config=dataset_cfg))
        assert (measured, distinct) == (len(rows), len(rows))
        assert kept == len(rows) + 30 - (found.rows if found else 0), limit
        counted.append(found.rows if found else 0)
    assert counted[0] > counted[1] > counted[2] > counted[3] == 0  # the limits cut between prompts
