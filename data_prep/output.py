"""What every builder writes: veRL's RL and multi-turn SFT schemas, a crash-safe parquet sink, a summary.

All RL files (training set and every benchmark) share one Arrow schema, so veRL can concatenate
several of them as `data.val_files` without a type clash.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.errors import PrepError

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
EXTRA_INFO = pa.struct([("index", pa.int64()), ("split", pa.string()), ("source_id", pa.string())])
RL_SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", pa.list_(MESSAGE)),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("ground_truth", pa.string()), ("style", pa.string())])),
        ("extra_info", EXTRA_INFO),
    ]
)
SFT_SCHEMA = pa.schema([("messages", pa.list_(MESSAGE)), ("extra_info", EXTRA_INFO)])


def _extra_info(index: list[int], split: str, source_id: list[str]) -> pa.StructArray:
    return pa.StructArray.from_arrays(
        [pa.array(index, pa.int64()), pa.array([split] * len(index), pa.string()), pa.array(source_id, pa.string())],
        fields=list(EXTRA_INFO),
    )


def _conversations(turns: list[list[str]], roles: list[str]) -> pa.ListArray:
    """Fixed-shape conversations (same roles in every row) built column-wise, without Python dicts."""
    n = len(turns[0])
    content = pa.array([text for row in zip(*turns, strict=True) for text in row], pa.string())
    role = pa.array(roles * n, pa.string())
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * len(roles))
    return pa.ListArray.from_arrays(offsets, pa.StructArray.from_arrays([role, content], fields=list(MESSAGE)))


def rl_batch(
    data_source: str | list[str],
    user_turns: list[str],
    ability: list[str],
    ground_truth: list[str],
    style: list[str],
    index: list[int],
    split: str,
    source_id: list[str],
) -> pa.RecordBatch:
    """Rows in veRL's RL schema (one user message per prompt)."""
    n = len(user_turns)
    sources = [data_source] * n if isinstance(data_source, str) else data_source
    reward = pa.StructArray.from_arrays(
        [pa.array(ground_truth, pa.string()), pa.array(style, pa.string())], fields=list(RL_SCHEMA.field("reward_model").type)
    )
    arrays = [
        pa.array(sources, pa.string()),
        _conversations([user_turns], ["user"]),
        pa.array(ability, pa.string()),
        reward,
        _extra_info(index, split, source_id),
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=RL_SCHEMA)


def sft_batch(user_turns: list[str], answers: list[str], index: list[int], split: str, source_id: list[str]) -> pa.RecordBatch:
    """Rows in veRL's multi-turn SFT schema: a `messages` list of user then assistant turn."""
    messages = _conversations([user_turns, answers], ["user", "assistant"])
    return pa.RecordBatch.from_arrays([messages, _extra_info(index, split, source_id)], schema=SFT_SCHEMA)


def write_json(path: Path, data: object) -> Path:
    """Every JSON file justrl-prep writes (summaries, reports): indented, UTF-8 as is, one final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


class ParquetSink:
    """Write batches to `<path>.partial`, renaming to `path` only when the build completes.

    A parquet file is readable only once its footer is written at the end, so a `.partial` file is
    never a usable result: a build that fails, is interrupted or gets SIGTERM removes it (the CLI
    turns SIGTERM into an exception for that); one killed with SIGKILL leaves it to the next build,
    which overwrites it. A previous good output is never clobbered either way. Indices must be
    strictly increasing, which proves them unique without holding them all in memory.
    """

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(self.partial, schema)
        self._last_index = -1
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        index = batch.column(batch.schema.get_field_index("extra_info")).field("index").to_numpy()
        if index[0] <= self._last_index or (np.diff(index) <= 0).any():
            raise PrepError(f"{self.path}: extra_info.index must be unique and increasing (after {self._last_index})")
        self._last_index = int(index[-1])
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def close(self) -> None:
        """Finish the file (footer) and flush it to disk, so a rename cannot publish a torn file."""
        self._writer.close()
        with self.partial.open("rb") as fh:
            os.fsync(fh.fileno())

    def commit(self) -> None:
        self.partial.replace(self.path)

    def discard(self) -> None:
        self._writer.close()
        self.partial.unlink(missing_ok=True)

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is not None:
            self.discard()
            return
        self.close()
        self.commit()


class OutputSet:
    """The files of one build, replaced together so no file of an earlier build survives beside them.

    Each parquet file is written as a partial, and all are renamed only once every one is complete.
    Then every other file of the set this build did not write is removed, with any partial of it:
    with `--val-size 0` an earlier `val.parquet`, whose problems may now be in `train.parquet`,
    must not stay behind.
    """

    def __init__(self, out_dir: Path, members: list[str]):
        self.out_dir = Path(out_dir)
        self.members = members
        self._sinks: list[ParquetSink] = []

    def sink(self, name: str, schema: pa.Schema) -> ParquetSink:
        sink = ParquetSink(self.out_dir / name, schema)
        self._sinks.append(sink)
        return sink

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is not None:
            for sink in self._sinks:
                sink.discard()
            return
        for sink in self._sinks:
            sink.close()
        for sink in self._sinks:
            sink.commit()
        written = {sink.path.name for sink in self._sinks}
        for name in self.members:
            if name not in written:
                (self.out_dir / name).unlink(missing_ok=True)
                (self.out_dir / f"{name}.partial").unlink(missing_ok=True)  # left by a SIGKILLed build


@dataclass
class Summary:
    """Rows in, rows out and rows dropped by reason; printed and written beside the output as JSON."""

    builder: str
    source: str
    rows_in: int = 0
    rows_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    outputs: list[str] = field(default_factory=list)
    notes: dict = field(default_factory=dict)

    def drop(self, reason: str, count: int = 1) -> None:
        self.dropped[reason] += count

    def to_dict(self) -> dict:
        return {
            "builder": self.builder,
            "source": self.source,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "dropped": dict(sorted(self.dropped.items())),
            "outputs": self.outputs,
            **self.notes,
        }

    def line(self) -> str:
        drops = ", ".join(f"{k}={v}" for k, v in sorted(self.dropped.items())) or "none"
        return f"{self.builder}: {self.rows_in} rows in, {self.rows_out} rows out; dropped: {drops}"

    def write(self, path: Path) -> Path:
        return write_json(path, self.to_dict())


def write_generated_rl(path: Path, prompts: list[str], answers: list[str], split: str, data_source: str) -> None:
    """Generated math problems (the laptop tasks) as one RL file: rule-graded, indexed in order."""
    batch = rl_batch(
        data_source,
        prompts,
        ["math"] * len(prompts),
        answers,
        ["rule"] * len(prompts),
        list(range(len(prompts))),
        split,
        [f"{data_source}-{split}-{i}" for i in range(len(prompts))],
    )
    with ParquetSink(path, RL_SCHEMA) as sink:
        sink.write(batch)


def write_generated_sft(path: Path, prompts: list[str], answers: list[str], split: str, source: str) -> None:
    """Generated worked examples (the laptop tasks' cold starts) as one SFT file."""
    batch = sft_batch(prompts, answers, list(range(len(prompts))), split, [f"{source}-{split}-{i}" for i in range(len(prompts))])
    with ParquetSink(path, SFT_SCHEMA) as sink:
        sink.write(batch)
