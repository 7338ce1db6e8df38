"""Reward throughput on one JustRL step: 2,048 responses of 2k-60k characters.

Scores each part (verify, format, redundancy, chunk similarity) and the whole adapter in the
JustTinker configuration, beside a straightforward implementation of the published formulas
(veRL's math_dapo for verification, `in` tests for the format, zlib + tuple n-grams + Python
shingle sets for redundancy), and prints responses per second per core and the speed-up.
Finally it times the whole step's batch on every core, the adapter and the reference alike, split
the way veRL's RewardLoopManager splits it (one contiguous chunk per reward-loop worker process,
``reward.num_workers`` of them), and once more as veRL's reward managers call the function inside
one worker: per response from a thread executor (zlib and the compiled redundancy kernels
release the GIL). The machine's load average is printed before and after: rerun when
it is above about 1.5, the figures are per core.

Usage: python benchmarks/reward_throughput.py [--responses 2048] [--seed 0] [--benchmarks DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm
from verl.utils.reward_score.math_dapo import compute_score as verl_dapo

from data_prep.corpora import benchmark_problem_text, healthy_samples, loop_samples
from justrl_common import bundled
from justrl_common.config import load_yaml
from reward_fns.adapter import compute_score
from reward_fns.format import has_boxed, has_think_block
from reward_fns.redundancy import analyze, chunk_similarity, compression_published, ngram_published
from reward_fns.verify import dapo, justtinker

DEFAULT_BENCHMARKS = bundled.benchmarks_dir()
# The recipe's own reward settings (configs/reward/justtinker.yaml), not a copy that could drift.
JUSTTINKER = load_yaml("reward/justtinker.yaml")["custom_reward_function"]["reward_kwargs"]


def make_step(problems: str, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(response, ground truth) pairs: think block, body, boxed answer; one in eight loops."""
    bodies = healthy_samples(problems, count, rng, low=2_000, high=60_000)
    batch = []
    for i, body in enumerate(bodies):
        if i % 8 == 7:
            body = loop_samples(problems, rng, total=len(body))[rng.choice(["repeated paragraph", "token run"])]
        answer = str(rng.randrange(1000))
        said = answer if rng.random() < 0.6 else str(int(answer) + 1)
        batch.append((f"<think>{body}</think>\n\nThe answer is \\boxed{{{said}}}.", answer))
    return batch


def reference_redundancy(text: str) -> dict[str, float]:
    data = text.encode("utf-8")
    compression = max(0.0, min(1.0, (0.7 - len(zlib.compress(data, 9)) / len(data)) / 0.6))
    words = text.split()
    grams = [tuple(words[i : i + 5]) for i in range(len(words) - 4)]
    ngram = 1 - len(set(grams)) / len(grams) if len(words) >= 10 else 0.0
    return {"compression": compression, "ngram": ngram, "score": 0.6 * compression + 0.4 * ngram}


def reference_chunk_similarity(text: str) -> float:
    if len(text) < 1000:
        return 0.0
    chunks = [text[i : i + 500] for i in range(0, len(text) - 500 + 1, 250)]
    sets = [{c[i : i + 5] for i in range(len(c) - 4)} for c in chunks]
    sims = [len(a & b) / len(a | b) for a, b in zip(sets, sets[1:])]
    return sum(sims) / len(sims)


def reference_reward(response: str, answer: str) -> dict:
    correct = verl_dapo(response, answer, strict_box_verify=True)["acc"]
    stats = reference_redundancy(response)
    think = "<think>" in response and "</think>" in response
    penalty = max(0.0, stats["score"] - 0.3) / 0.7 * 0.3 if correct else 0.0
    score = (1.0 - (0.0 if think else 0.1) - penalty) if correct else 0.0
    return {**stats, "redundancy": stats["score"], "score": score, "chunk_similarity": reference_chunk_similarity(response)}


PARTS: dict[str, tuple[Callable, Callable]] = {
    "verify (DAPO strict box)": (
        lambda r, a: dapo(r, a, strict_box=True),
        lambda r, a: verl_dapo(r, a, strict_box_verify=True),
    ),
    "verify (JustTinker rules)": (lambda r, a: justtinker(r, a), None),
    "format": (
        lambda r, a: (has_think_block(r), has_boxed(r)),
        lambda r, a: ("<think>" in r and "</think>" in r, "\\boxed{" in r),
    ),
    "redundancy (compression + ngram)": (
        lambda r, a: (compression_published(r), ngram_published(r)),
        lambda r, a: reference_redundancy(r),
    ),
    "chunk similarity": (lambda r, a: chunk_similarity(r), lambda r, a: reference_chunk_similarity(r)),
    "redundancy, default method": (lambda r, a: analyze(r, "default"), None),
    "whole adapter (JustTinker)": (lambda r, a: compute_score("math_dapo", r, a, **JUSTTINKER), reference_reward),
}


def rate(fn: Callable, batch: list[tuple[str, str]], label: str) -> float:
    started = time.perf_counter()
    for response, answer in tqdm(batch, desc=label, leave=False, file=sys.stderr):
        fn(response, answer)
    return len(batch) / (time.perf_counter() - started)


def _score_chunk(chunk: list[tuple[str, str]]) -> list[float]:
    return [compute_score("math_dapo", r, a, **JUSTTINKER)["score"] for r, a in chunk]


def _reference_chunk(chunk: list[tuple[str, str]]) -> list[float]:
    return [reference_reward(r, a)["score"] for r, a in chunk]


def step_on_workers(score_chunk: Callable, batch: list[tuple[str, str]], workers: int) -> float:
    """Wall seconds for the batch split into contiguous chunks, one per worker process."""
    size = -(-len(batch) // workers)
    chunks = [batch[i : i + size] for i in range(0, len(batch), size)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(score_chunk, [batch[:workers]] * workers))  # start the workers before timing
        started = time.perf_counter()
        list(pool.map(score_chunk, chunks))
        return time.perf_counter() - started


def step_on_threads(batch: list[tuple[str, str]], threads: int) -> float:
    """Wall seconds for the batch scored one response per call from a thread pool in one process."""
    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        list(pool.map(lambda item: compute_score("math_dapo", *item, **JUSTTINKER), batch))
        return time.perf_counter() - started


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--benchmarks", type=Path, default=DEFAULT_BENCHMARKS)
    args = parser.parse_args()
    if args.responses < 1:
        sys.exit(f"error: --responses {args.responses} must be a positive number of responses")
    if not args.benchmarks.is_dir():
        sys.exit(f"error: --benchmarks {args.benchmarks} is not a directory of benchmark parquet files")
    print(f"load average before: {_load()}")
    batch = make_step(benchmark_problem_text(args.benchmarks), args.responses, random.Random(args.seed))
    chars = sum(len(r) for r, _ in batch)
    print(f"{len(batch)} responses, {chars / 1e6:.1f} M characters (mean {chars / len(batch):,.0f})")
    mismatch = sum(
        abs(compute_score("math_dapo", r, a, **JUSTTINKER)["score"] - reference_reward(r, a)["score"]) > 1e-9
        for r, a in batch[:64]
        if "<think>" in r
    )
    print(f"adapter vs reference reward on 64 responses: {mismatch} differ")
    print(f"{'part':<34}{'ours resp/s/core':>18}{'reference':>12}{'ratio':>8}")
    for label, (ours, reference) in PARTS.items():
        fast = rate(ours, batch, label)
        if reference is None:
            print(f"{label:<34}{fast:>18,.0f}{'-':>12}{'-':>8}")
            continue
        slow = rate(reference, batch, label + " (reference)")
        print(f"{label:<34}{fast:>18,.0f}{slow:>12,.0f}{fast / slow:>7.1f}x")
    cores = os.cpu_count() or 1
    ours = step_on_workers(_score_chunk, batch, cores)
    reference = step_on_workers(_reference_chunk, batch, cores)
    print(f"whole step on {cores} worker processes: {ours:.2f} s, reference {reference:.2f} s, "
          f"{reference / ours:.1f}x (target < 3 s)")
    print(f"whole step from a {cores}-thread executor in one process: {step_on_threads(batch, cores):.2f} s")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
