"""Writers for files in the public datasets' exact column layouts, so that the tests and
benchmarks/prep_throughput.py feed the builders the real shapes without the hub.

DAPO-Math-17k (BytedTsinghua-SIA/DAPO-Math-17k, dataset card features): data_source (string),
prompt (list of {content, role}), ability (string), reward_model {ground_truth, style},
extra_info {index: string}. OpenR1-Math-220k (open-r1/OpenR1-Math-220k, default config card):
problem, solution, answer, problem_type, question_type, source, uuid (strings),
is_reasoning_complete (list of bool), generations (list of string), correctness_math_verify
(list of bool), correctness_llama (list of bool), finish_reasons (list of string),
correctness_count (int64), messages (list of {content, role}).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DAPO_PREFIX = (
    "Solve the following math problem step by step. The last line of your response should be of the form "
    "Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n"
)
DAPO_SUFFIX = '\n\nRemember to put your answer on its own line after "Answer:".'

_MESSAGE = pa.struct([("content", pa.string()), ("role", pa.string())])
DAPO_SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", pa.list_(_MESSAGE)),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("ground_truth", pa.string()), ("style", pa.string())])),
        ("extra_info", pa.struct([("index", pa.string())])),
    ]
)
OPENR1_SCHEMA = pa.schema(
    [
        ("problem", pa.string()),
        ("solution", pa.string()),
        ("answer", pa.string()),
        ("problem_type", pa.string()),
        ("question_type", pa.string()),
        ("source", pa.string()),
        ("uuid", pa.string()),
        ("is_reasoning_complete", pa.list_(pa.bool_())),
        ("generations", pa.list_(pa.string())),
        ("correctness_math_verify", pa.list_(pa.bool_())),
        ("correctness_llama", pa.list_(pa.bool_())),
        ("finish_reasons", pa.list_(pa.string())),
        ("correctness_count", pa.int64()),
        ("messages", pa.list_(_MESSAGE)),
    ]
)


def _dapo_table(problems: list[str], answers: list[str], ids: list[str]) -> pa.Table:
    n = len(problems)
    content = pa.array([DAPO_PREFIX + p + DAPO_SUFFIX for p in problems], pa.string())
    message = pa.StructArray.from_arrays([content, pa.array(["user"] * n)], fields=list(_MESSAGE))
    prompt = pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), message)
    reward = pa.StructArray.from_arrays(
        [pa.array(answers, pa.string()), pa.array(["rule-lighteval/MATH_v2"] * n)],
        fields=list(DAPO_SCHEMA.field("reward_model").type),
    )
    extra = pa.StructArray.from_arrays([pa.array(ids, pa.string())], fields=list(DAPO_SCHEMA.field("extra_info").type))
    return pa.Table.from_arrays(
        [pa.array(["math_dapo"] * n), prompt, pa.array(["MATH"] * n), reward, extra], schema=DAPO_SCHEMA
    )


def write_dapo_layout(path: Path, problems: list[tuple[str, str]], repeats: int, chunk_repeats: int = 10) -> Path:
    """A DAPO-Math-17k-style file: every (problem, answer) wrapped and repeated `repeats` times, the
    repeats interleaved (all problems, then all again) as in a file built by concatenating copies."""
    ids = [str(uuid.UUID(int=i + 1)) for i in range(len(problems))]
    texts, answers = [p for p, _ in problems], [a for _, a in problems]
    with pq.ParquetWriter(path, DAPO_SCHEMA) as writer:
        for start in range(0, repeats, chunk_repeats):
            copies = min(chunk_repeats, repeats - start)
            writer.write_table(_dapo_table(texts * copies, answers * copies, ids * copies))
    return path


def write_openr1_layout(path: Path, rows: list[dict]) -> Path:
    """An OpenR1-Math-220k-style file. Each row gives problem, answer, generations,
    correctness_math_verify and is_reasoning_complete; the other columns get plausible values."""
    table = {name: [] for name in OPENR1_SCHEMA.names}
    for i, row in enumerate(rows):
        gens = row["generations"]
        table["problem"].append(row["problem"])
        table["solution"].append(row.get("solution", f"Worked solution. The answer is {row['answer']}."))
        table["answer"].append(row["answer"])
        table["problem_type"].append("Algebra")
        table["question_type"].append("math-word-problem")
        table["source"].append("olympiads")
        table["uuid"].append(str(uuid.UUID(int=1000 + i)))
        table["is_reasoning_complete"].append(row["is_reasoning_complete"])
        table["generations"].append(gens)
        table["correctness_math_verify"].append(row["correctness_math_verify"])
        table["correctness_llama"].append(None)
        table["finish_reasons"].append(["stop"] * len(gens))
        table["correctness_count"].append(sum(row["correctness_math_verify"]))
        table["messages"].append([{"content": row["problem"], "role": "user"}, {"content": gens[0], "role": "assistant"}])
    pq.write_table(pa.Table.from_pydict(table, schema=OPENR1_SCHEMA), path)
    return path
