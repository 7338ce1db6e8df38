"""Every row's reward_model.ground_truth, checked by a column scan before a run starts.

A ground truth that is None, an empty string or a list is not an error anywhere in veRL: the
verifiers grade every response to that row as wrong (-1 under JustRL's reward), silently, for the
whole run. Such rows can sit anywhere in a 1.8M-row file, so the preflight scans the whole column
with pyarrow (a few hundred milliseconds on DAPO-Math-17k as JustRL trained on it) instead of
reading a sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reward_fns.sanitize import MAX_GROUND_TRUTH_CHARS

COLUMN = "reward_model"
FIELD = "ground_truth"
BATCH_ROWS = 262_144


@dataclass(frozen=True)
class BadGroundTruths:
    """How many rows of a file carry no usable ground truth, and the first of them."""

    count: int
    rows: int
    first_row: int
    first_value: object

    def line(self, where: str) -> str:
        shown = repr(self.first_value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return (
            f"{where}: {self.count:,} of {self.rows:,} rows have no usable reward_model.ground_truth (first: row "
            f"{self.first_row}, got {shown}); expected a non-empty string (or a number) of at most "
            f"{MAX_GROUND_TRUTH_CHARS} characters, else every response to the row scores as wrong; "
            f"fix or drop those rows, or rebuild the file with justrl-prep"
        )


def _usable(values: pa.Array) -> pa.Array:
    """True where a ground truth of this column type can be graded (nulls count as not usable)."""
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        length = pc.utf8_length(pc.utf8_trim_whitespace(values))
        return pc.and_(pc.greater(length, 0), pc.less_equal(pc.utf8_length(values), MAX_GROUND_TRUTH_CHARS))
    if pa.types.is_integer(kind):
        return pc.is_valid(values)
    if pa.types.is_floating(kind):
        return pc.and_(pc.is_valid(values), pc.invert(pc.is_nan(values)))
    return pa.array([False] * len(values))  # lists, structs, booleans, binary: never a gradable answer


def scan_ground_truths(path: str) -> BadGroundTruths | None:
    """The rows of `path` whose ground truth the verifiers cannot grade; None when every row is usable.

    Raises KeyError when the file has no struct column reward_model with a ground_truth field, and
    whatever pyarrow raises for unreadable data.
    """
    parquet = pq.ParquetFile(path)
    kind = parquet.schema_arrow.field(COLUMN).type
    if not (pa.types.is_struct(kind) and kind.get_field_index(FIELD) >= 0):
        raise KeyError(f"{COLUMN} is {kind}, not a struct with a {FIELD} field")
    count, offset, first = 0, 0, None
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[COLUMN]):
        values = pc.struct_field(batch.column(0), FIELD)
        bad = pc.invert(pc.fill_null(_usable(values), False))
        found = pc.sum(bad).as_py() or 0
        if found and first is None:
            index = pc.index(bad, True).as_py()
            first = (offset + index, values[index].as_py())
        count += found
        offset += batch.num_rows
    if first is None:
        return None
    return BadGroundTruths(count=count, rows=offset, first_row=first[0], first_value=first[1])
