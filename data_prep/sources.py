"""Open a dataset from a local file/folder or the Hugging Face hub as a stream of Arrow batches.

Every builder reads through here so that an air-gapped copy (parquet or jsonl, a single file or a
hub snapshot folder) and a hub id behave the same, and so that 1.79M-row inputs never have to be
materialised in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from data_prep.errors import PrepError
from data_prep.hub import HUB_ID, offline_requested, unreachable_reason

_FILE_SUFFIXES = (".parquet", ".jsonl", ".json")


@dataclass
class Source:
    """An opened input: a label for messages, its schema, its row count and a batch iterator factory."""

    label: str
    schema: pa.Schema
    num_rows: int
    _tables: list[pa.Table | pq.ParquetFile]

    def batches(self, batch_rows: int, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        """Yield record batches of at most batch_rows rows, reading only `columns`.

        A parquet file's pages are only decoded here, so a corrupt page surfaces mid-build.
        """
        for part in self._tables:
            if isinstance(part, pq.ParquetFile):
                try:
                    yield from part.iter_batches(batch_size=batch_rows, columns=columns)
                except (OSError, pa.ArrowException) as exc:
                    raise PrepError(f"{self.label}: unreadable parquet data ({exc}); the file is corrupt or truncated") from None
            else:
                table = part.select(columns) if columns else part
                yield from table.to_batches(max_chunksize=batch_rows)


def _local_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _FILE_SUFFIXES)
    parquet = [p for p in files if p.suffix == ".parquet"]
    return parquet or files


def _open_local(path: Path) -> Source:
    files = _local_files(path)
    if not files:
        raise PrepError(f"{path}: no .parquet, .jsonl or .json files found")
    parts: list[pa.Table | pq.ParquetFile] = []
    for file in files:
        if file.suffix not in _FILE_SUFFIXES:
            raise PrepError(f"{file}: unsupported file type {file.suffix!r}; expected .parquet, .jsonl or .json")
        try:
            parts.append(pq.ParquetFile(file) if file.suffix == ".parquet" else pa_json.read_json(file))
        except (pa.ArrowInvalid, OSError) as exc:
            raise PrepError(f"{file}: cannot be read as {file.suffix[1:]}: {exc}") from exc
    schemas = [p.schema_arrow if isinstance(p, pq.ParquetFile) else p.schema for p in parts]
    rows = sum(p.metadata.num_rows if isinstance(p, pq.ParquetFile) else p.num_rows for p in parts)
    return Source(label=str(path), schema=schemas[0], num_rows=rows, _tables=parts)


def _open_hub(hub_id: str, split: str, config: str | None) -> Source:
    """Download (or reuse the cache of) a hub dataset; the Arrow cache is memory-mapped, not loaded.

    Offline, it fails in seconds with the fix: with HF_HUB_OFFLINE=1 only the hub cache is tried,
    and an unreachable hub stops before the client's retries."""
    fix = "build from a local copy instead: --source PATH (a parquet/jsonl file, or a folder such as a copied hub snapshot)"
    if not offline_requested():
        reason = unreachable_reason()
        if reason:
            raise PrepError(f"hub dataset {hub_id!r}: {reason}; {fix}, or set HF_HUB_OFFLINE=1 to use the hub cache")
    import datasets

    try:
        dataset = datasets.load_dataset(hub_id, config, split=split)
    except Exception as exc:  # the hub client raises many unrelated types; all mean "could not fetch"
        hint = f"; HF_HUB_OFFLINE is set and the hub cache has no copy: {fix}" if offline_requested() else ""
        raise PrepError(
            f"hub dataset {hub_id!r} (config {config}, split {split}) could not be loaded: {' '.join(str(exc).split())}{hint}"
        ) from exc
    table = dataset.data.table
    return Source(label=f"hub:{hub_id}", schema=table.schema, num_rows=table.num_rows, _tables=[table])


def open_source(source: str | Path, split: str = "train", config: str | None = None) -> Source:
    """Open `source`: an existing file or folder, otherwise a hub id like owner/name."""
    path = Path(source)
    if path.exists():
        return _open_local(path)
    if HUB_ID.match(str(source)):
        return _open_hub(str(source), split, config)
    raise PrepError(f"source {source!r}: not an existing file or folder, and not a hub id of the form owner/name")


def path_type(schema: pa.Schema, path: str, label: str) -> pa.DataType:
    """The Arrow type at a dotted column path, or a PrepError naming the file and the column."""
    parts = path.split(".")
    if parts[0] not in schema.names:
        raise PrepError(f"{label}: missing column '{parts[0]}' (needed for '{path}'); found {schema.names}")
    typ = schema.field(parts[0]).type
    for i, part in enumerate(parts[1:], start=1):
        where = ".".join(parts[:i])
        if part.isdigit():
            if not pa.types.is_list(typ) and not pa.types.is_large_list(typ):
                raise PrepError(f"{label}: column '{where}' should be a list for '{path}', found {typ}")
            typ = typ.value_type
        else:
            if not pa.types.is_struct(typ) or typ.get_field_index(part) < 0:
                raise PrepError(f"{label}: column '{where}' should be a struct with field '{part}', found {typ}")
            typ = typ.field(part).type
    return typ


def require_text(schema: pa.Schema, path: str, label: str, allow_numbers: bool = False) -> None:
    """Stop with a clear message unless `path` holds strings (or numbers, for answers)."""
    typ = path_type(schema, path, label)
    ok = pa.types.is_string(typ) or pa.types.is_large_string(typ)
    ok = ok or (allow_numbers and (pa.types.is_integer(typ) or pa.types.is_floating(typ)))
    if not ok:
        expected = "string or number" if allow_numbers else "string"
        raise PrepError(f"{label}: column '{path}' expected {expected}, found {typ}")


def require_list_of(schema: pa.Schema, column: str, value: pa.DataType, label: str) -> None:
    """Stop unless `column` is a list of `value` (e.g. OpenR1's generations: list of strings)."""
    typ = path_type(schema, column, label)
    is_list = pa.types.is_list(typ) or pa.types.is_large_list(typ)
    inner = typ.value_type if is_list else None
    if not is_list or not (inner == value or (pa.types.is_large_string(inner) and value == pa.string())):
        raise PrepError(f"{label}: column '{column}' expected list<{value}>, found {typ}")


def column_values(batch: pa.RecordBatch, path: str) -> list:
    """Python values at a dotted path for every row; missing list items and nulls become None."""
    parts = path.split(".")
    arr: pa.Array = batch.column(batch.schema.get_field_index(parts[0]))
    for part in parts[1:]:
        if part.isdigit():
            index = int(part)
            long_enough = pc.fill_null(pc.greater(pc.list_value_length(arr), index), False)
            arr = pc.list_element(pc.if_else(long_enough, arr, pa.scalar(None, arr.type)), index)
        else:
            arr = pc.struct_field(arr, part)
    return arr.to_pylist()
