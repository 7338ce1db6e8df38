"""Print redundancy scores (both methods) on healthy long text and on constructed loops.

Usage: python benchmarks/redundancy_study.py [--benchmarks DIR] [--samples N]
The figures quoted in reward_fns/redundancy.py come from this script.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import sysconfig
from pathlib import Path

from data_prep.corpora import benchmark_problem_text, healthy_samples, loop_samples, package_docs_text
from justrl_common import bundled
from reward_fns.redundancy import analyze

DEFAULT_BENCHMARKS = bundled.benchmarks_dir()


def _summary(texts: list[str]) -> str:
    stats = {method: [analyze(text, method) for text in texts] for method in ("justtinker", "default")}
    cells = []
    for method, results in stats.items():
        scores = [r["score"] for r in results]
        cells.append(f"{method} mean {statistics.mean(scores):.3f} max {max(scores):.3f}")
    chunk = statistics.mean(r["chunk_similarity"] for r in stats["default"])
    return " | ".join(cells) + f" | chunk_sim mean {chunk:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=DEFAULT_BENCHMARKS)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    if not args.benchmarks.is_dir():
        sys.exit(f"error: --benchmarks {args.benchmarks} is not a directory of benchmark parquet files")
    rng = random.Random(0)
    problems = benchmark_problem_text(args.benchmarks)
    docs = package_docs_text(Path(sysconfig.get_paths()["purelib"]))
    print(f"healthy: benchmark problems (5k-60k chars)  {_summary(healthy_samples(problems, args.samples, rng))}")
    doc_samples = [sample for doc in docs for sample in healthy_samples(doc, 2, rng, high=len(doc))]
    print(f"healthy: package docs ({len(docs)} docs)       {_summary(doc_samples)}")
    loops: dict[str, list[str]] = {}
    for _ in range(args.samples // 4):
        for name, text in loop_samples(problems, rng).items():
            loops.setdefault(name, []).append(text)
    for name, texts in loops.items():
        print(f"loop: {name:<20}                {_summary(texts)}")


if __name__ == "__main__":
    main()
