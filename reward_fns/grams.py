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


def _compiled(*signatures: object):
    """Eager, cached, GIL-free: veRL's reward managers call the score from a thread pool."""
    return njit(list(signatures), cache=True, nogil=True)


@_compiled(types.int64(types.int64))
def _table_bits(count):
    """log2 of a power-of-two table at most half full.

    Slots are unsigned (``_slot``, ``_next``) so indexing needs no negative-index handling.
    """
    bits = 4
    while (1 << bits) < 2 * count:
        bits += 1
    return bits


@_compiled(types.uint64(types.uint64, types.int64))
def _next(slot, bits):
    """Linear probing."""
    return (slot + _ONE) & ((_ONE << np.uint64(bits)) - _ONE)


@_compiled(types.uint64(types.uint64, types.int64))
def _slot(state, bits):
    """Fibonacci hashing: the top ``bits`` bits of the state times the golden ratio."""
    return (state * _GOLDEN) >> np.uint64(64 - bits)


_RUNS = (_BYTES, _CODE_POINTS, _IDS)


@_compiled(*(types.boolean(runs, types.int64, types.int64, types.int64) for runs in _RUNS))
def _equal_runs(symbols, first, second, length):
    """Whether the runs at ``first`` and ``second`` are equal: the test a hash match must pass."""
    for k in range(length):
        if symbols[first + k] != symbols[second + k]:
            return False
    return True


@_compiled(_IDS(_BYTES, _FLAGS), _IDS(_CODE_POINTS, _FLAGS))
def word_ids(codes, space):
    """Dense ids of the whitespace-separated words, in order (``text.split()``, numbered).

    ``space`` flags the whitespace code points (``SPACE``); two words get one id exactly when
    their code points are equal. The scan is branch-free (a word boundary is every sixth
    character, too often for the branch predictor): every position writes the boundary slot
    and the running hash of the word it is in, and only the slot counter moves.
    """
    n = len(codes)
    bounds = np.empty(n + 1, np.int64)
    hashes = np.empty(n // 2 + 2, np.uint64)
    k = 0
    was_blank = np.uint8(1)
    state = _ONE
    for i in range(n):
        c = codes[i]
        blank = np.uint8(space[c]) if c < len(space) else np.uint8(0)
        bounds[k] = i
        k += blank ^ was_blank
        was_blank = blank
        state = _ONE if blank else (state ^ np.uint64(c)) * _GOLDEN
        hashes[k >> 1] = state
    bounds[k] = n
    count = (k + 1) >> 1
    bits = _table_bits(count)
    first_seen = np.full(1 << bits, -1, np.int64)
    ids = np.empty(count, np.int64)
    distinct = 0
    for w in range(count):
        start, length = bounds[2 * w], bounds[2 * w + 1] - bounds[2 * w]
        slot = _slot(hashes[w], bits)
        while True:
            other = first_seen[slot]
            if other < 0:
                first_seen[slot] = w
                ids[w] = distinct
                distinct += 1
                break
            if (
                hashes[other] == hashes[w]
                and bounds[2 * other + 1] - bounds[2 * other] == length
                and _equal_runs(codes, bounds[2 * other], start, length)
            ):
                ids[w] = ids[other]
                break
            slot = _next(slot, bits)
    return ids


def previous_occurrence(symbols: np.ndarray, width: int) -> np.ndarray:
    """For each run ``symbols[p : p + width]`` (non-negative symbols), the start of its previous copy, or -1.

    When ``width`` symbols pack into 63 bits (ASCII shingles: 5 x 7 bits; 5-grams over fewer
    than 4,096 distinct words) each run is its own exact key and a probe compares one integer;
    otherwise a probe compares the runs symbol by symbol.
    """
    symbol_bits = max(1, int(symbols.max()).bit_length()) if len(symbols) else 1
    if symbol_bits * width <= 63:
        return _previous_packed(symbols, width, symbol_bits)
    return _previous_compared(symbols, width)


@_compiled(*(_IDS(runs, types.int64, types.int64) for runs in _RUNS))
def _previous_packed(symbols, width, symbol_bits):
    count = max(0, len(symbols) - width + 1)
    bits = _table_bits(count)
    table = np.full(2 << bits, -1, np.int64)  # (key, last position) pairs: one cache line a probe
    previous = np.empty(count, np.int64)
    key_mask = (1 << (width * symbol_bits)) - 1
    key = 0
    for k in range(min(width - 1, len(symbols))):
        key = (key << symbol_bits) | np.int64(symbols[k])
    for p in range(count):
        key = ((key << symbol_bits) | np.int64(symbols[p + width - 1])) & key_mask
        slot = _slot(np.uint64(key), bits)
        while table[2 * slot] != key and table[2 * slot] >= 0:
            slot = _next(slot, bits)
        previous[p] = table[2 * slot + _ONE]
        table[2 * slot] = key
        table[2 * slot + _ONE] = p
    return previous


@_compiled(*(_IDS(runs, types.int64) for runs in _RUNS))
def _previous_compared(symbols, width):
    count = max(0, len(symbols) - width + 1)
    bits = _table_bits(count)
    last_seen = np.full(1 << bits, -1, np.int64)
    previous = np.empty(count, np.int64)
    for p in range(count):
        state = _ONE
        for k in range(width):
            state = (state ^ np.uint64(symbols[p + k])) * _GOLDEN
        slot = _slot(state, bits)
        while True:
            other = last_seen[slot]
            if other < 0:
                previous[p] = -1
                break
            if _equal_runs(symbols, other, p, width):
                previous[p] = other
                break
            slot = _next(slot, bits)
        last_seen[slot] = p
    return previous


@_compiled(types.int64(_IDS, types.int64, types.int64))
def distinct_in(previous, start, stop):
    """Distinct runs among those starting in ``[start, stop)``: the ones first seen there.

    Indexing a slice from 0 lets the compiler drop negative-index handling and vectorise.
    """
    window = previous[start:stop]
    count = 0
    for p in range(len(window)):
        count += window[p] < start
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
