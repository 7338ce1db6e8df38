"""Redundancy of a response: how much of it repeats itself.

Two methods, both returning ``compression``, ``ngram``, ``chunk_similarity`` and ``score`` in [0, 1]:

``justtinker`` -- the published JustTinker formulas, exactly (see ``docs/justtinker_reward.md``):
``score = 0.6 * clip((0.7 - r) / 0.6, 0, 1) + 0.4 * (1 - unique/total word 5-grams)`` with ``r`` the
zlib level-9 ratio, and the compression term 0 below 100 characters as in JustTinker's code. zlib
compresses *any* long natural text to r ~ 0.3-0.4, so this score is high on healthy long reasoning
(JustTinker measured ~0.38 on healthy responses, above its own 0.3 threshold): it penalises
length, not loops.

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

COMPRESSION_MIN_CHARS = 100
CHUNK_CHARS = 500
CHUNK_STEP = 250
SHINGLE = 5
NGRAM = 5
SEGMENT_BYTES = 1024
_NOVELTY_LOW = 0.10
_NOVELTY_HIGH = 0.18
# The methods `analyze` implements (the redundancy term's `method` option is checked against these).
METHODS = ("default", "justtinker")


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def utf8(text: str) -> bytes:
    """The bytes every byte-level measure reads (lone surrogates kept, never an exception)."""
    return text.encode("utf-8", "surrogatepass")


def compression_published(text: str, data: bytes | None = None) -> float:
    """``clip((0.7 - r) / 0.6, 0, 1)`` with r = zlib level-9 bytes / UTF-8 bytes; 0 below 100
    characters, as in JustTinker's code (a short run such as ``"x" * 99`` would otherwise score 1).

    zlib level 9 is the published ratio and about half of the whole reward's cost; ``data``
    lets the caller encode once for every measure.
    """
    if len(text) < COMPRESSION_MIN_CHARS:
        return 0.0
    data = utf8(text) if data is None else data
    return _clip01((0.7 - len(zlib.compress(data, 9)) / len(data)) / 0.6)


def codes(text: str, data: bytes | None = None) -> np.ndarray:
    """The text's characters as integers for the compiled kernels: the UTF-8 bytes themselves
    when the text is ASCII (no copy), UTF-32 code points otherwise (lone surrogates kept)."""
    if text.isascii():
        return np.frombuffer(utf8(text) if data is None else data, dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def ngram_published(text: str, points: np.ndarray | None = None) -> float:
    """``1 - unique/total`` word 5-grams; 0 below 10 words.

    The words are split and numbered, and the 5-grams counted, by the exact hash-table kernels
    of ``reward_fns.grams``: the set-of-tuples count without building words or tuples.
    """
    ids = grams.word_ids(codes(text) if points is None else points, grams.SPACE)
    if len(ids) < 2 * NGRAM:
        return 0.0
    previous = grams.previous_occurrence(ids, NGRAM)
    return 1.0 - grams.distinct_in(previous, 0, len(previous)) / len(previous)


def chunk_similarity(text: str, points: np.ndarray | None = None) -> float:
    """Mean Jaccard of adjacent 500-character chunks (50% overlap) over 5-character shingles.

    Exact, without building sets: each shingle's previous copy (``grams.previous_occurrence``)
    says whether it is new in a window, and the union of two adjacent chunks is one contiguous
    750-character window (``grams.adjacent_jaccard_mean``).
    """
    if len(text) < 2 * CHUNK_CHARS:
        return 0.0
    previous = grams.previous_occurrence(codes(text) if points is None else points, SHINGLE)
    chunks = (len(text) - CHUNK_CHARS) // CHUNK_STEP + 1
    return grams.adjacent_jaccard_mean(previous, chunks, CHUNK_STEP, CHUNK_CHARS - SHINGLE + 1)


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
    points = codes(text, data)
    if method == "justtinker":
        compression, ngram = compression_published(text, data), ngram_published(text, points)
        score = 0.6 * compression + 0.4 * ngram
    elif method == "default":
        compression = loop_fraction(text, data)
        ngram = 0.0
        score = compression
    else:
        raise ValueError(f"unknown redundancy method {method!r}; expected one of {', '.join(METHODS)}")
    return {
        "compression": compression,
        "ngram": ngram,
        "chunk_similarity": chunk_similarity(text, points),
        "score": score,
    }


def penalty(score: float, *, threshold: float, weight: float) -> float:
    """Linear above ``threshold``, reaching ``weight`` at score 1 (JustTinker's shape)."""
    if score <= threshold or threshold >= 1.0:
        return 0.0
    return (score - threshold) / (1.0 - threshold) * weight
