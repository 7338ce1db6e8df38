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

from reward_fns import grams

CHUNK_CHARS = 500
CHUNK_STEP = 250
SHINGLE = 5
NGRAM = 5
SEGMENT_BYTES = 1024
_NOVELTY_LOW = 0.10
_NOVELTY_HIGH = 0.18


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def utf8(text: str) -> bytes:
    """The bytes every byte-level measure reads (lone surrogates kept, never an exception)."""
    return text.encode("utf-8", "surrogatepass")


def compression_published(text: str, data: bytes | None = None) -> float:
    """``clip((0.7 - r) / 0.6, 0, 1)`` with r = zlib level-9 bytes / UTF-8 bytes.

    zlib level 9 is the published ratio and about half of the whole reward's cost; ``data``
    lets the caller encode once for every measure.
    """
    data = utf8(text) if data is None else data
    if not data:
        return 0.0
    return _clip01((0.7 - len(zlib.compress(data, 9)) / len(data)) / 0.6)


def ngram_published(text: str) -> float:
    """``1 - unique/total`` word 5-grams; 0 below 10 words.

    Words get dense ids from a C hash table and each 5-gram becomes one exact int64
    (``reward_fns.grams``), so the distinct count is the set-of-tuples count without the tuples.
    """
    words = text.split()
    if len(words) < 2 * NGRAM:
        return 0.0
    ids, _ = grams.dense_ids(np.array(words, dtype=object))
    keys = grams.run_keys(ids, NGRAM)
    return 1.0 - grams.distinct_count(keys) / len(keys)


def _shingle_keys(text: str, data: bytes) -> np.ndarray:
    """Each 5-character shingle as one exact int64."""
    if len(data) == len(text):  # ASCII: one byte per character, read the shingles off the bytes
        return grams.byte_run_keys(data, SHINGLE)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    present = np.zeros(int(codes.max()) + 1, dtype=bool)
    present[codes] = True
    ranks = np.cumsum(present, dtype=np.int64)[codes] - 1
    if ranks.max() < 256:
        return grams.byte_run_keys(ranks.astype(np.uint8).tobytes(), SHINGLE)
    return grams.run_keys(ranks, SHINGLE)


def _blocks_back(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each shingle's position, block, and how many blocks back its previous copy is (3 = 3+ or none).

    Dense ids, then a stable sort by id (a radix sort when the ids fit 16 bits) lists each
    shingle's positions in order, so neighbours in that order are previous occurrences. The
    three arrays come back in that sorted order: the window counts are histograms, which do
    not care about order, so nothing is scattered back.
    """
    codes, distinct = grams.dense_ids(keys)
    order = np.argsort(codes.astype(np.uint16) if distinct <= 1 << 16 else codes, kind="stable")
    block = order // CHUNK_STEP
    ordered = codes[order]
    back = np.full(len(keys), 3, dtype=np.int64)
    back[1:] = np.where(ordered[1:] == ordered[:-1], np.minimum(block[1:] - block[:-1], 3), 3)
    return order, block, back


def chunk_similarity(text: str, data: bytes | None = None) -> float:
    """Mean Jaccard of adjacent 500-character chunks (50% overlap) over 5-character shingles.

    Exact, without building sets: |A ∩ B| = |A| + |B| - |A ∪ B|, and A ∪ B of two adjacent
    chunks is one contiguous 750-character window. Cut the shingle positions into 250-position
    blocks (the chunk step); window i starts at block i, and a shingle counts as distinct in it
    when its previous occurrence lies in a block before i. So each shingle only needs how many
    blocks back its previous copy is (0, 1, 2, or more), and every window's distinct count is a
    sum of per-block histograms of that distance: one sort and two bincounts per response.
    """
    if len(text) < 2 * CHUNK_CHARS:
        return 0.0
    data = utf8(text) if data is None else data
    keys = _shingle_keys(text, data)
    chunks = (len(text) - CHUNK_CHARS) // CHUNK_STEP + 1
    per_chunk = CHUNK_CHARS - SHINGLE + 1
    head = per_chunk - CHUNK_STEP  # a chunk is its first block and this many positions of the next
    position, block, back = _blocks_back(keys)
    cells = block * 4 + back
    size = (len(keys) // CHUNK_STEP + 1) * 4
    full = np.bincount(cells, minlength=size).reshape(-1, 4)
    tails = np.bincount(cells[position - block * CHUNK_STEP >= head], minlength=size).reshape(-1, 4)
    # at_least[j, k]: shingles of block j (of its head) whose previous copy is k or more blocks
    # back. Shingles past the last window only land in blocks or block tails no window reads.
    full_at_least = np.cumsum(full[:, ::-1], axis=1)[:, ::-1]
    head_at_least = full_at_least - np.cumsum(tails[:, ::-1], axis=1)[:, ::-1]
    first = np.arange(chunks)
    single = full_at_least[first, 1] + head_at_least[first + 1, 2]
    pair = first[:-1]
    union = full_at_least[pair, 1] + full_at_least[pair + 1, 2] + head_at_least[pair + 2, 3]
    inter = single[:-1] + single[1:] - union
    return float(np.mean(inter / union))


def loop_fraction(text: str, data: bytes | None = None) -> float:
    """Share of the text (by 1 KiB segments) that the compressor finds to be a copy of earlier text."""
    data = utf8(text) if data is None else data
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
    data = utf8(text)
    if method == "justtinker":
        compression, ngram = compression_published(text, data), ngram_published(text)
        score = 0.6 * compression + 0.4 * ngram
    elif method == "default":
        compression = loop_fraction(text, data)
        ngram = 0.0
        score = compression
    else:
        raise ValueError(f"unknown redundancy method {method!r}; expected 'default' or 'justtinker'")
    return {
        "compression": compression,
        "ngram": ngram,
        "chunk_similarity": chunk_similarity(text, data),
        "score": score,
    }


def penalty(score: float, *, threshold: float, weight: float) -> float:
    """Linear above ``threshold``, reaching ``weight`` at score 1 (JustTinker's shape)."""
    if score <= threshold or threshold >= 1.0:
        return 0.0
    return (score - threshold) / (1.0 - threshold) * weight
