"""Small parquet files in the two schemas the project reads: veRL's RL rows and the SFT chat rows."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def write_rl_parquet(path, n, data_source):
    """A small file in veRL's RL schema, as justrl-prep writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "data_source": data_source,
            "prompt": [{"role": "user", "content": f"What is {i} + 1?\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."}],
            "ability": "math",
            "reward_model": {"ground_truth": str(i + 1), "style": "rule"},
            "extra_info": {"index": i, "split": "train"},
        }
        for i in range(n)
    ]
    pd.DataFrame(rows).to_parquet(path)
    return path


def chat(*turns: str) -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]


def write_sft_parquet(path, rows: list[list[dict[str, str]]]):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"messages": rows}), path)
    return path
