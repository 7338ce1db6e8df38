"""Exact integer ids for runs of symbols (word 5-grams, character shingles), vectorised.

The published redundancy formulas count distinct n-grams; building a Python set of tuples or
substrings per response costs milliseconds on 30k-character responses, and the reward runs on
2,048 responses a step. Every key here is an injective packing of the run's symbol ids into one
int64 (re-numbering the partial key densely whenever the next symbol would not fit), so equal
keys mean equal runs: no hashing, no collision bound to argue, the counts are exact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_BYTE_RUN_MAX = 8


def dense_ids(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Number the distinct values 0..d-1 (order of first appearance) with a C hash table."""
    codes, uniques = pd.factorize(values)
    return codes, len(uniques)


def run_keys(symbols: np.ndarray, width: int) -> np.ndarray:
    """One exact int64 per run ``symbols[i : i + width]``; ``symbols`` are non-negative ids."""
    count = len(symbols) - width + 1
    symbol_bits = max(1, int(symbols.max()).bit_length())
    keys = symbols[:count].astype(np.int64)
    bits = symbol_bits
    for offset in range(1, width):
        if bits + symbol_bits > 63:
            keys, distinct = dense_ids(keys)
            bits = max(1, (distinct - 1).bit_length())
        keys = (keys << symbol_bits) | symbols[offset : offset + count]
        bits += symbol_bits
    return keys


def byte_run_keys(data: bytes, width: int) -> np.ndarray:
    """Runs of ``width`` bytes read as little-endian integers straight from the buffer.

    An overlapping strided view (stride one byte) makes each run one unaligned 8-byte load,
    masked to ``width`` bytes: one vector operation instead of ``width`` shifts and ors.
    """
    if not 1 <= width <= _BYTE_RUN_MAX:
        raise ValueError(f"byte runs of width {width}; expected 1 to {_BYTE_RUN_MAX}")
    count = len(data) - width + 1
    padded = data + b"\0" * (_BYTE_RUN_MAX - width)
    view = np.ndarray((count,), dtype="<u8", buffer=padded, strides=(1,))
    return (view & np.uint64((1 << (8 * width)) - 1)).astype(np.int64)


def distinct_count(keys: np.ndarray) -> int:
    """Number of distinct keys."""
    return len(pd.unique(keys))
