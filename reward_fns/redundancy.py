"""Redundancy of a response: how much of it repeats itself.

Two methods, both returning ``compression``, ``ngram``, ``chunk_similarity`` and ``score`` in [0, 1]:

``justtinker`` -- the published JustTinker formulas, exactly (see ``../shared/RECIPES.md``):
``score = 0.6 * clip((0.7 - r) / 0.6, 0, 1) + 0.4 * (1 - unique/total word 5-grams)`` with ``r`` the
zlib level-9 ratio. zlib compresses *any* long natural text to r ~ 0.3-0.4, so this score is high
on healthy long reasoning (JustTinker measured ~0.38 on healthy responses, above its own 0.3
threshold): it penalises length, not loops.

``default`` -- the fraction of the text that is a copy of what came before. The text is
fed to one zlib stream in 1 KiB segments, flushing after each; the bytes a segment costs, given
everything before it, is its *novelty*. Fresh prose or reasoning costs 0.25-0.45 bytes per byte
even in context (new words, new numbers); a segment that repeats earlier text -- verbatim, with
small edits, or a run of one token -- costs almost nothing because the compressor encodes it as
back-references. ``compression`` is the share of segments whose novelty falls below a floor
(ramped linearly between ``_NOVELTY_LOW`` and ``_NOVELTY_HIGH`` so the score is continuous), and
the score is that share: a response that loops for half its length scores about 0.5 whatever
its length, and healthy long reasoning scores near 0 however long it is.

Measured with ``python benchmarks/redundancy_study.py`` (offline corpora only: no real long model
traces were available, so "healthy" is real human-written text cut to 5k-60k characters --
benchmark problem statements concatenated as numbered steps (Olympiad-Bench excluded: its relay
problems are near-duplicates of each other), and the long descriptions shipped in installed
packages' METADATA files; loops are a third healthy prefix followed by the loop):

======================================  ==================  ==================
corpus                                  justtinker mean/max  default mean/max
======================================  ==================  ==================
healthy: benchmark problems (40)        0.407 / 0.590        0.017 / 0.105
healthy: package docs (14 docs x 2)     0.397 / 0.584        0.020 / 0.099
loop: repeated paragraph                0.827 / 0.913        0.631 / 0.666
loop: near duplicates (3 edits/600ch)   0.778 / 0.872        0.628 / 0.649
loop: sentence pattern, new numbers     0.644 / 0.708        0.497 / 0.527
loop: one-token run                     0.876 / 0.932        0.663 / 0.690
loop: "Wait, let me re-check" run       0.837 / 0.903        0.663 / 0.690
======================================  ==================  ==================

The published score reproduces JustTinker's finding (healthy ~0.4, above 0.3); the default keeps
healthy text at or below ~0.1 and puts every loop shape at about its looping share (2/3 here).
The chunk similarity (monitor only) is the published definition in both methods.
"""

from __future__ import annotations

import zlib

import numpy as np

CHUNK_CHARS = 500
CHUNK_STEP = 250
SHINGLE = 5
NGRAM = 5
SEGMENT_BYTES = 1024
_NOVELTY_LOW = 0.10
_NOVELTY_HIGH = 0.18


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def compression_published(text: str) -> float:
    """``clip((0.7 - r) / 0.6, 0, 1)`` with r = zlib level-9 bytes / UTF-8 bytes."""
    data = text.encode("utf-8", "surrogatepass")
    if not data:
        return 0.0
    return _clip01((0.7 - len(zlib.compress(data, 9)) / len(data)) / 0.6)


def ngram_published(text: str) -> float:
    """``1 - unique/total`` word 5-grams; 0 below 10 words. Tuples via zip: same set, C speed."""
    words = text.split()
    if len(words) < 2 * NGRAM:
        return 0.0
    total = len(words) - NGRAM + 1
    return 1.0 - len(set(zip(*(words[i:] for i in range(NGRAM))))) / total


def _shingle_keys(text: str) -> np.ndarray | None:
    """Each 5-character shingle as one exact integer (characters ranked within the text)."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    present = np.zeros(int(codes.max()) + 1, dtype=bool)
    present[codes] = True
    ranks = np.cumsum(present, dtype=np.int64)[codes] - 1
    bits = max(1, int(ranks.max()).bit_length())
    if SHINGLE * bits + max(1, len(text).bit_length()) > 63:
        return None
    count = len(text) - SHINGLE + 1
    keys = np.zeros(count, dtype=np.int64)
    for offset in range(SHINGLE):
        keys = (keys << bits) | ranks[offset : offset + count]
    return keys


def _previous_occurrence(keys: np.ndarray) -> np.ndarray:
    """For each position, the last earlier position holding the same key (-1 when none)."""
    position_bits = max(1, len(keys).bit_length())
    ordered = np.sort((keys << position_bits) | np.arange(len(keys), dtype=np.int64))
    positions = ordered & ((1 << position_bits) - 1)
    same = (ordered[1:] >> position_bits) == (ordered[:-1] >> position_bits)
    previous = np.full(len(keys), -1, dtype=np.int64)
    previous[positions[1:][same]] = positions[:-1][same]
    return previous


def _distinct_in_windows(previous: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Distinct keys in each window [s, s + width): positions whose previous copy lies before s."""
    windows = np.lib.stride_tricks.sliding_window_view(previous, width)[starts]
    return (windows < starts[:, None]).sum(axis=1)


def _chunk_similarity_reference(text: str) -> float:
    chunks = [text[i : i + CHUNK_CHARS] for i in range(0, len(text) - CHUNK_CHARS + 1, CHUNK_STEP)]
    sets = [{c[i : i + SHINGLE] for i in range(len(c) - SHINGLE + 1)} for c in chunks]
    scores = [len(a & b) / len(a | b) for a, b in zip(sets, sets[1:])]
    return sum(scores) / len(scores) if scores else 0.0


def chunk_similarity(text: str) -> float:
    """Mean Jaccard of adjacent 500-character chunks (50% overlap) over 5-character shingles.

    Exact, without building sets: |A ∩ B| = |A| + |B| - |A ∪ B|, and A ∪ B of two adjacent
    chunks is one contiguous 750-character window, so all three are distinct counts of windows,
    read off one sorted array of shingle keys.
    """
    if len(text) < 2 * CHUNK_CHARS:
        return 0.0
    keys = _shingle_keys(text)
    if keys is None:
        return _chunk_similarity_reference(text)
    per_chunk = CHUNK_CHARS - SHINGLE + 1
    starts = np.arange(0, len(text) - CHUNK_CHARS + 1, CHUNK_STEP)
    previous = _previous_occurrence(keys)
    single = _distinct_in_windows(previous, starts, per_chunk)
    union = _distinct_in_windows(previous, starts[:-1], per_chunk + CHUNK_STEP)
    inter = single[:-1] + single[1:] - union
    return float(np.mean(inter / union))


def loop_fraction(text: str) -> float:
    """Share of the text (by 1 KiB segments) that the compressor finds to be a copy of earlier text."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) < 2 * SEGMENT_BYTES:
        return 0.0
    stream = zlib.compressobj(1)
    repeated = 0.0
    segments = range(0, len(data), SEGMENT_BYTES)
    for start in segments:
        segment = data[start : start + SEGMENT_BYTES]
        cost = len(stream.compress(segment)) + len(stream.flush(zlib.Z_SYNC_FLUSH))
        novelty = cost / len(segment)
        repeated += _clip01((_NOVELTY_HIGH - novelty) / (_NOVELTY_HIGH - _NOVELTY_LOW)) * len(segment)
    return repeated / len(data)


def analyze(text: str, method: str = "default") -> dict[str, float]:
    """Redundancy diagnostics and the score the penalty is computed from.

    The default method has no n-gram term (``ngram`` is reported as 0.0): the segment novelty
    already sees word-level repeats, and the 5-gram rate would cost half a millisecond more.
    """
    if method == "justtinker":
        compression, ngram = compression_published(text), ngram_published(text)
        score = 0.6 * compression + 0.4 * ngram
    elif method == "default":
        compression = loop_fraction(text)
        ngram = 0.0
        score = compression
    else:
        raise ValueError(f"unknown redundancy method {method!r}; expected 'default' or 'justtinker'")
    return {
        "compression": compression,
        "ngram": ngram,
        "chunk_similarity": chunk_similarity(text),
        "score": score,
    }


def penalty(score: float, *, threshold: float, weight: float) -> float:
    """Linear above ``threshold``, reaching ``weight`` at score 1 (JustTinker's shape)."""
    if score <= threshold or threshold >= 1.0:
        return 0.0
    return (score - threshold) / (1.0 - threshold) * weight
