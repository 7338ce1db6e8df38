"""Exact distinct-run counts (word 5-grams, character shingles) in compiled kernels.

The published redundancy formulas count distinct n-grams; a Python set of tuples or substrings
costs milliseconds on a 30k-character response and the reward runs on 2,048 responses a step.
Here every run is looked up in an open-addressing hash table that stores *where* the run was
seen, and a probe only matches when the symbols themselves are equal: the hash picks the slot,
never decides equality, so the counts are exact whatever collides.

One primitive serves both measures: ``previous_occurrence`` gives, for each run, the position of
its previous copy. A run is distinct in a window ``[a, b)`` exactly when its previous copy lies
before ``a``, so the 5-gram distinct count is the number of runs with no previous copy and each
chunk's (and each chunk pair's) shingle count is a count over one contiguous window.

The kernels are compiled when this module is imported, for the two code arrays the callers pass
(UTF-8 bytes of ASCII text, UTF-32 code points otherwise), and cached on disk (``cache=True``):
a Ray reward worker pays the compilation once per machine, later imports load the machine code.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit, types

# str.split() splits on exactly the characters for which str.isspace() holds.
_SPACE = np.array([chr(c).isspace() for c in range(sys.maxunicode + 1)])
SPACE = _SPACE[: int(np.flatnonzero(_SPACE)[-1]) + 1].copy()

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ONE = np.uint64(1)

_BYTES = types.Array(types.uint8, 1, "C", readonly=True)
_CODE_POINTS = types.Array(types.uint32, 1, "C", readonly=True)
_IDS = types.Array(types.int64, 1, "C")
_FLAGS = types.Array(types.boolean, 1, "C")


def _compiled(*signatures: str | tuple):
    """Eager, cached, GIL-free: veRL's reward managers call the score from a thread pool."""
    return njit(list(signatures), cache=True, nogil=True)


@_compiled(types.int64(types.int64))
def _table_bits(count):
    """log2 of a power-of-two table at most half full."""
    bits = 4
    while (1 << bits) < 2 * count:
        bits += 1
    return bits


@_compiled(types.uint64(types.uint64, types.int64))
def _slot(state, bits):
    """Fibonacci hashing: the top ``bits`` bits of the state times the golden ratio."""
    return (state * _GOLDEN) >> np.uint64(64 - bits)


@_compiled(_IDS(_BYTES, _FLAGS), _IDS(_CODE_POINTS, _FLAGS))
def word_ids(codes, space):
    """Dense ids of the whitespace-separated words, in order (``text.split()``, numbered).

    ``space`` flags the whitespace code points (``SPACE``); two words get one id exactly when
    their code points are equal.
    """
    n = len(codes)
    starts = np.empty(n // 2 + 1, np.int64)
    ends = np.empty(n // 2 + 1, np.int64)
    count = 0
    inside = False
    for i in range(n):
        blank = codes[i] < len(space) and space[codes[i]]
        if inside and blank:
            ends[count] = i
            count += 1
        elif not inside and not blank:
            starts[count] = i
        inside = not blank
    if inside:
        ends[count] = n
        count += 1
    bits = _table_bits(count)
    mask = (1 << bits) - 1
    first_seen = np.full(1 << bits, -1, np.int64)
    ids = np.empty(count, np.int64)
    distinct = 0
    for w in range(count):
        start, length = starts[w], ends[w] - starts[w]
        state = np.uint64(length)
        for i in range(start, ends[w]):
            state = (state ^ np.uint64(codes[i])) * _GOLDEN
        slot = np.int64(_slot(state, bits))
        while True:
            other = first_seen[slot]
            if other < 0:
                first_seen[slot] = w
                ids[w] = distinct
                distinct += 1
                break
            if ends[other] - starts[other] == length:
                same = True
                for k in range(length):
                    if codes[starts[other] + k] != codes[start + k]:
                        same = False
                        break
                if same:
                    ids[w] = ids[other]
                    break
            slot = (slot + 1) & mask
    return ids


@_compiled(_IDS(_BYTES, types.int64), _IDS(_CODE_POINTS, types.int64), _IDS(_IDS, types.int64))
def previous_occurrence(symbols, width):
    """For each run ``symbols[p : p + width]``, the start of its previous copy, or -1."""
    count = max(0, len(symbols) - width + 1)
    bits = _table_bits(count)
    mask = (1 << bits) - 1
    last_seen = np.full(1 << bits, -1, np.int64)
    previous = np.empty(count, np.int64)
    for p in range(count):
        state = _ONE
        for k in range(width):
            state = (state ^ np.uint64(symbols[p + k])) * _GOLDEN
        slot = np.int64(_slot(state, bits))
        while True:
            other = last_seen[slot]
            if other < 0:
                previous[p] = -1
                break
            same = True
            for k in range(width):
                if symbols[other + k] != symbols[p + k]:
                    same = False
                    break
            if same:
                previous[p] = other
                break
            slot = (slot + 1) & mask
        last_seen[slot] = p
    return previous


@_compiled(types.int64(_IDS, types.int64, types.int64))
def distinct_in(previous, start, stop):
    """Distinct runs among those starting in ``[start, stop)``: the ones first seen there."""
    count = 0
    for p in range(start, stop):
        if previous[p] < start:
            count += 1
    return count


@_compiled(types.float64(_IDS, types.int64, types.int64, types.int64))
def adjacent_jaccard_mean(previous, chunks, step, runs_per_chunk):
    """Mean Jaccard of the run sets of chunks ``i`` and ``i + 1`` (chunk ``i`` starts at run ``i * step``).

    Adjacent chunks overlap (``step < runs_per_chunk``), so their union is the one contiguous
    window from chunk ``i``'s start to chunk ``i + 1``'s end, and
    |A ∩ B| = |A| + |B| - |A ∪ B|. Summed in chunk order, as ``sum(list) / len(list)`` does.
    """
    total = 0.0
    current = distinct_in(previous, 0, runs_per_chunk)
    for i in range(chunks - 1):
        start = i * step
        following = distinct_in(previous, start + step, start + step + runs_per_chunk)
        union = distinct_in(previous, start, start + step + runs_per_chunk)
        total += (current + following - union) / union
        current = following
    return total / (chunks - 1)
