"""Grading throughput: responses graded per second per core, pool vs in-process baseline.

Responses are synthesised around the real ground truths of the nine benchmark files (shipped in
justrl_common/bundled): long reasoning followed by a correct boxed answer, an equivalent form, a wrong
answer, or no answer at all (truncated) - the mix that sends a share of items through math-verify.

    python benchmarks/grade_throughput.py [--items 2000] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import time
from typing import Any

import pandas as pd

from justrl.eval.grading import GradeTask, grade_all
from justrl_common import bundled

START_PROBE = GradeTask("so \\boxed{0.5}", "\\frac{1}{2}")
FILLER = "We consider the cases in turn and simplify the expression step by step, checking each term. "


def ground_truths() -> list[str]:
    truths = []
    for path in sorted(bundled.benchmarks_dir().glob("*/test.parquet")):
        frame = pd.read_parquet(path)
        raw = [rm["ground_truth"] for rm in frame["reward_model"]] if "reward_model" in frame else list(frame["answer"])
        truths += [re.sub(r"^\\boxed\{(.*)\}$", r"\1", str(a)) for a in raw]
    return truths


def corpus(size: int, seed: int = 0) -> list[GradeTask]:
    rng = random.Random(seed)
    truths = ground_truths()
    tasks = []
    for _ in range(size):
        truth = rng.choice(truths)
        body = FILLER * rng.randint(20, 120)
        kind = rng.random()
        if kind < 0.4:
            end = f"\\boxed{{{truth}}}"
        elif kind < 0.5:
            end = f"\\boxed{{\\frac{{{2 * int(truth)}}}{{2}}}}" if truth.isdigit() else f"\\boxed{{ {truth} }}"
        elif kind < 0.8:
            end = f"\\boxed{{{rng.randint(0, 999)}}}"
        else:
            end = "so x = 2.5 and then we"
        tasks.append(GradeTask(f"<think>{body}</think>\n\nThe answer is {end}", truth))
    return tasks


def serial(tasks: list[GradeTask], ready: Any = None) -> tuple[float, float]:
    """Seconds and share correct in-process, one core, no deadline, math-verify answered in this
    process as a grading worker answers it: the ceiling a pool pays overhead against. `ready`, a
    barrier, starts the timing together with other copies."""
    from reward_fns import mathverify_pool
    from reward_fns.verify import hybrid

    mathverify_pool.answer_in_process()
    if ready is not None:
        ready.wait()
    start = time.perf_counter()
    correct = sum(hybrid(t.text, t.ground_truth).correct for t in tasks)
    return time.perf_counter() - start, correct / len(tasks)


def _grade_share(tasks: list[GradeTask], ready: Any, rates: Any) -> None:
    seconds, _ = serial(tasks, ready)
    rates.put(len(tasks) / seconds)


def independent_rate(tasks: list[GradeTask], copies: int) -> float:
    """Items/s of `copies` fresh serial processes at once, each on its share, with no pool and no
    IPC: how far this machine itself scales (shared caches, neighbours on the host), the pool's
    ceiling. Fresh (spawned), not forked from this process, whose SymPy caches the serial run has
    filled; each times its own loop, and their rates add up, so an unlucky share is not the limit."""
    context = multiprocessing.get_context("spawn")
    ready, rates = context.Barrier(copies), context.Queue()
    procs = [context.Process(target=_grade_share, args=(tasks[i::copies], ready, rates)) for i in range(copies)]
    for proc in procs:
        proc.start()
    total = sum(rates.get() for _ in procs)
    for proc in procs:
        proc.join()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=sorted({1, len(os.sched_getaffinity(0))}))
    args = parser.parse_args()
    tasks = corpus(args.items)
    print(f"{len(tasks)} responses, mean {sum(len(t.text) for t in tasks) / len(tasks):.0f} characters")
    base, correct = serial(tasks)
    print(f"in-process serial: {len(tasks) / base:8.1f} items/s  (1 core)  baseline  ({correct:.1%} correct)")
    # A pool's start alone is timed on one cheap response per worker that still goes through
    # math-verify (the first real responses can take a second each, which would count as start).
    # The first pool of a process also starts the forkserver (a SymPy import): once per
    # justrl-grade run, so it is reported on its own, not in every pool's start.
    start = time.perf_counter()
    grade_all([START_PROBE], workers=1, progress=False)
    print(f"forkserver start and a 1-worker pool (once per process): {time.perf_counter() - start:.1f}s")
    for copies in sorted(set(args.workers) - {1}):
        rate = independent_rate(tasks, copies)
        print(f"{copies} serial copies at once, no pool: {rate:8.1f} items/s  x{rate * base / len(tasks):.2f} vs serial  (the machine's own scaling)")
    for workers in args.workers:
        start = time.perf_counter()
        grade_all([START_PROBE] * workers, workers=workers, progress=False)
        startup = time.perf_counter() - start
        start = time.perf_counter()
        grades = grade_all(tasks, workers=workers, progress=False)
        took = time.perf_counter() - start
        rate = len(tasks) / took
        print(
            f"pool, {workers} worker(s):  {rate:8.1f} items/s  {rate / workers:8.1f} items/s/core  "
            f"x{base / took:.2f} vs serial  (timing includes starting the pool; a pool start alone took "
            f"{startup:.1f}s, x{base / max(took - startup, 1e-9):.2f} without it; "
            f"{sum(g.correct for g in grades) / len(grades):.1%} correct)"
        )


if __name__ == "__main__":
    main()
