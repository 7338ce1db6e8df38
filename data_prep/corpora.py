"""Text corpora for measuring redundancy scores offline: healthy long text and constructed loops.

Real long model traces are not available offline, so "healthy" means real human-written text
of the same lengths: the benchmark problem statements concatenated as one long step-by-step
document, and the long-description text that ships in installed packages' METADATA files.
Loops are built from that same text, in the shapes collapsed runs show.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd


def benchmark_problem_text(benchmarks_dir: Path) -> str:
    """All benchmark problems, each as a numbered reasoning step.

    Olympiad-Bench is left out: its relay problems repeat one statement with a changed ``T``,
    so slices of it are genuinely redundant text (0.2-0.4 with the default method).
    """
    texts = []
    for path in sorted(benchmarks_dir.glob("*/test.parquet")):
        if path.parent.name == "Olympiad-Bench":
            continue
        frame = pd.read_parquet(path)
        column = frame["problem"] if "problem" in frame else frame["prompt"].map(lambda p: p[0]["content"])
        texts.extend(column.astype(str))
    return "\n\n".join(f"Step {i + 1}. {text.strip()}" for i, text in enumerate(texts))


def package_docs_text(site_packages: Path, min_chars: int = 20_000) -> list[str]:
    """Long descriptions of installed packages (natural technical prose), largest first."""
    docs = []
    for path in site_packages.glob("*.dist-info/METADATA"):
        body = path.read_text(encoding="utf-8", errors="replace").split("\n\n", 1)[-1]
        if len(body) >= min_chars:
            docs.append(body)
    return sorted(docs, key=len, reverse=True)


def healthy_samples(source: str, count: int, rng: random.Random, low: int = 5_000, high: int = 60_000) -> list[str]:
    """``count`` slices of ``source`` with lengths drawn in [low, high]."""
    samples = []
    for _ in range(count):
        length = min(len(source), rng.randint(low, high))
        start = rng.randrange(0, len(source) - length + 1)
        samples.append(source[start : start + length])
    return samples


def _edit(paragraph: str, rng: random.Random, edits: int) -> str:
    words = paragraph.split(" ")
    for _ in range(edits):
        words[rng.randrange(len(words))] = rng.choice(["so", "thus", "hence", "x", "7", "again", "now"])
    return " ".join(words)


def loop_samples(source: str, rng: random.Random, total: int = 30_000) -> dict[str, str]:
    """One response per loop shape, each a healthy prefix followed by a degenerate tail."""
    start = rng.randrange(0, len(source) - total)
    prefix = source[start : start + total // 3]
    paragraph = source[start + total // 3 : start + total // 3 + 600]
    sentence = "Let me try n = {n}: then n^2 + 1 = {v}, which is not divisible by 7. "
    shapes = {
        "repeated paragraph": lambda i: paragraph + "\n\n",
        "near duplicates": lambda i: _edit(paragraph, rng, 3) + "\n\n",
        "sentence pattern": lambda i: sentence.format(n=i, v=i * i + 1),
        "token run": lambda i: "the ",
        "wait loop": lambda i: "Wait, let me re-check the computation. ",
    }
    samples = {}
    for name, make in shapes.items():
        parts, size, i = [prefix], len(prefix), 0
        while size < total:
            piece = make(i)
            parts.append(piece)
            size, i = size + len(piece), i + 1
        samples[name] = "".join(parts)[:total]
    return samples
