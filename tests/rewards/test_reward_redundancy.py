"""Redundancy: the published formulas reproduced exactly, and the default method's separation."""

from __future__ import annotations

import random
import sysconfig
import zlib
from pathlib import Path

import numpy as np
import pytest

from data_prep.corpora import benchmark_problem_text, healthy_samples, loop_samples, package_docs_text
from reward_fns.grams import SPACE, previous_occurrence, word_ids
from reward_fns.redundancy import analyze, chunk_similarity, codes, penalty


def _published(text: str) -> dict[str, float]:
    """The JustTinker formulas written the straightforward way (docs/justtinker_reward.md)."""
    data = text.encode("utf-8")
    ratio = len(zlib.compress(data, 9)) / len(data)
    compression = max(0.0, min(1.0, (0.7 - ratio) / 0.6)) if len(text) >= 100 else 0.0
    words = text.split()
    if len(words) < 10:
        ngram = 0.0
    else:
        grams = [tuple(words[i : i + 5]) for i in range(len(words) - 4)]
        ngram = 1 - len(set(grams)) / len(grams)
    chunks = [text[i : i + 500] for i in range(0, len(text) - 500 + 1, 250)] if len(text) >= 1000 else []
    shingles = [{c[i : i + 5] for i in range(len(c) - 4)} for c in chunks]
    sims = [len(a & b) / len(a | b) for a, b in zip(shingles, shingles[1:])]
    return {
        "compression": compression,
        "ngram": ngram,
        "chunk_similarity": sum(sims) / len(sims) if sims else 0.0,
        "score": 0.6 * compression + 0.4 * ngram,
    }


@pytest.fixture(scope="module")
def problems(benchmarks_dir) -> str:
    return benchmark_problem_text(benchmarks_dir)


@pytest.fixture(scope="module")
def docs() -> list[str]:
    return package_docs_text(Path(sysconfig.get_paths()["purelib"]))


def test_justtinker_method_reproduces_published_formulas(problems):
    rng = random.Random(1)
    texts = healthy_samples(problems, 12, rng, low=1, high=20_000)
    texts += list(loop_samples(problems, rng, total=8_000).values())
    texts += ["short", "a b c d e f g h i", "x" * 999, "x" * 1000, "αβγ ∑ ∫ ≤ " * 300, "中文数学" * 400]
    texts += ["x" * 99, "x" * 100, "数" * 99, "数" * 100, "a b " * 24 + "ab"]
    for text in texts:
        assert analyze(text, "justtinker") == pytest.approx(_published(text), abs=1e-12), text[:60]


def test_compression_term_is_zero_below_100_characters():
    # The floor counts characters, not bytes: 99 three-byte characters are still under it.
    assert [analyze(text, "justtinker")["compression"] for text in ("x" * 99, "数" * 99)] == [0.0, 0.0]
    assert analyze("x" * 100, "justtinker")["compression"] > 0.9


def test_chunk_similarity_exact_beyond_ascii():
    rng = random.Random(2)
    text = "".join(chr(rng.randrange(32, 0x3000)) for _ in range(5000))
    assert chunk_similarity(text) == pytest.approx(_published(text)["chunk_similarity"], abs=1e-12)
    assert chunk_similarity("ab" * 499) == 0.0


def test_published_score_penalises_healthy_long_text(problems, docs):
    """The motivation for the default method: zlib compresses any long text."""
    rng = random.Random(3)
    healthy = healthy_samples(problems, 10, rng) + [doc[:60_000] for doc in docs[:6]]
    published = [analyze(text, "justtinker")["score"] for text in healthy]
    assert sum(published) / len(published) > 0.3


def test_default_method_keeps_healthy_long_text_below_threshold(problems, docs):
    rng = random.Random(4)
    healthy = healthy_samples(problems, 16, rng) + [doc[:60_000] for doc in docs]
    scores = [analyze(text)["score"] for text in healthy]
    assert max(scores) < 0.15, max(scores)
    assert sum(scores) / len(scores) < 0.05


@pytest.mark.parametrize("shape", ["repeated paragraph", "near duplicates", "sentence pattern", "token run", "wait loop"])
def test_default_method_flags_every_loop_shape(problems, shape):
    """Two thirds of each constructed response is the loop; the score says about that much."""
    rng = random.Random(5)
    for _ in range(3):
        score = analyze(loop_samples(problems, rng)[shape])["score"]
        assert score > 0.45, (shape, score)


def test_default_score_tracks_how_much_loops():
    paragraph = "We substitute x = 3 into the second equation and get y = 7, so the pair works. "
    fresh = " ".join(f"Step {i}: consider the case k = {i * 7919 % 1000}, square {i * i}." for i in range(400))
    half = fresh[:10_000] + paragraph * (10_000 // len(paragraph))
    assert analyze(fresh[:20_000])["score"] < 0.05
    assert 0.4 < analyze(half)["score"] < 0.55


def test_penalty_shape():
    assert penalty(0.3, threshold=0.3, weight=0.3) == 0.0
    assert penalty(0.65, threshold=0.3, weight=0.3) == pytest.approx(0.15)
    assert penalty(1.0, threshold=0.3, weight=0.3) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="unknown redundancy method 'zip'"):
        analyze("text", "zip")


def _varied_texts() -> list[str]:
    """Texts that drive every fast path: ASCII, few and many non-ASCII characters, Unicode
    whitespace, word vocabularies too large for one packed key, and every chunk-count boundary."""
    rng = random.Random(6)
    ascii_words = [f"w{rng.randrange(50_000)}" for _ in range(6_000)]
    return [
        " ".join(ascii_words),  # ~6,000 distinct words: the 5-gram key needs re-numbering
        " ".join(rng.choice(["a", "b", "c"]) for _ in range(3_000)),  # few words, many repeats
        "".join(rng.choice("ab \n") for _ in range(7_777)),
        "".join(chr(rng.randrange(0x391, 0x3C9)) + rng.choice([" ", "", "\u3000", "\x1c", "\xa0"]) for _ in range(4_000)),
        "".join(chr(rng.randrange(32, 0x3000)) for _ in range(9_000)),  # > 256 distinct characters
        "".join(chr(rng.randrange(0x1F600, 0x1F650)) for _ in range(3_000)),  # astral plane
        "x\ud800y " * 400,  # a lone surrogate (kept by surrogatepass)
        *("".join(rng.choice("abcdefgh ") for _ in range(n)) for n in (1_000, 1_249, 1_250, 1_251, 1_499, 1_500, 1_501)),
    ]


def test_fast_paths_match_set_based_counts_on_varied_texts():
    for text in _varied_texts():
        published = _published(text) if "\ud800" not in text else None
        stats = analyze(text, "justtinker")
        words = text.split()
        grams = [tuple(words[i : i + 5]) for i in range(len(words) - 4)]
        assert stats["ngram"] == (1 - len(set(grams)) / len(grams) if len(words) >= 10 else 0.0), text[:40]
        chunks = [text[i : i + 500] for i in range(0, len(text) - 500 + 1, 250)] if len(text) >= 1000 else []
        sets = [{c[i : i + 5] for i in range(len(c) - 4)} for c in chunks]
        sims = [len(a & b) / len(a | b) for a, b in zip(sets, sets[1:])]
        assert stats["chunk_similarity"] == pytest.approx(sum(sims) / len(sims) if sims else 0.0, abs=1e-12), text[:40]
        if published is not None:
            assert stats == pytest.approx(published, abs=1e-12)


def _python_previous(symbols: list, width: int) -> list[int]:
    last: dict[tuple, int] = {}
    previous = []
    for p in range(len(symbols) - width + 1):
        run = tuple(symbols[p : p + width])
        previous.append(last.get(run, -1))
        last[run] = p
    return previous


def test_previous_occurrence_matches_a_dict_of_runs():
    rng = np.random.default_rng(7)
    # Runs that differ only in their first, large symbol, and runs of one symbol (long probe chains).
    leading = np.column_stack([(1 << 40) + np.arange(400) * 4099, np.ones((400, 4), dtype=np.int64)]).ravel()
    cases = [rng.integers(0, high, size) for high, size in [(3, 2_000), (70_000, 3_000), (2**62, 500), (1, 50)]]
    for symbols, width in zip([*cases, leading, np.zeros(3, np.int64)], [5, 5, 3, 1, 5, 5]):
        assert previous_occurrence(symbols, width).tolist() == _python_previous(symbols.tolist(), width)
    data = np.frombuffer(bytes(rng.integers(0, 4, 4_000, dtype=np.uint8)), dtype=np.uint8)
    assert previous_occurrence(data, 5).tolist() == _python_previous(data.tolist(), 5)


def test_word_ids_split_like_str_split():
    """Every character str.isspace() accepts separates words, and only those; equal words, equal ids."""
    assert np.flatnonzero(SPACE).tolist() == [c for c in range(0x110000) if chr(c).isspace()]
    rng = random.Random(8)
    pieces = ["a", "b", "ab", "é", "\ud800", "\U0001f600", "x" * 40] + [chr(c) for c in np.flatnonzero(SPACE)]
    for length in (0, 1, 7, 3_000):
        text = "".join(rng.choice(pieces) for _ in range(length))
        numbered: dict[str, int] = {}
        expected = [numbered.setdefault(word, len(numbered)) for word in text.split()]
        assert word_ids(codes(text), SPACE).tolist() == expected, repr(text[:40])
