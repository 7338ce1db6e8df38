"""Grade responses in a pool of worker processes, each response under a hard time limit.

A pathological response can hang somewhere uninterruptible (a SymPy power with millions of
digits); pebble kills the worker at the deadline and the response counts as wrong ("timeout")
instead of stalling the whole grading job. That deadline is why reward_fns' own verifiers run
math-verify inside the grading worker here, not in the helper process they use elsewhere
(reward_fns.mathverify_pool): a helper per worker cost a SymPy import at every pool start and
a pipe round trip per answer, to enforce a deadline that pebble enforces already.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from pebble import ProcessPool

from justrl_common.progress import progress_bar
from reward_fns import mathverify_pool, mathverify_worker
from reward_fns.verify import VERIFIERS


@dataclass(frozen=True)
class GradeTask:
    """One response to grade against its problem's ground truth."""

    text: str
    ground_truth: str


@dataclass(frozen=True)
class Grade:
    correct: bool
    pred: str | None
    reason: str


def resolve_verifier(verifier: str) -> Callable[..., Any]:
    """A reward_fns verifier by name, or any `module:function` with the same signature
    (e.g. a model-verifier second opinion), imported in the worker."""
    if ":" in verifier:
        module, _, attr = verifier.partition(":")
        return getattr(importlib.import_module(module), attr)
    return VERIFIERS[verifier]


def grade_one(text: str, ground_truth: str, verifier: str, options: dict[str, Any]) -> Grade:
    """Run one verifier on one response; returns a picklable Grade."""
    result = resolve_verifier(verifier)(text, ground_truth, **options)
    return Grade(bool(result.correct), result.pred, result.reason)


def _error(exc: BaseException) -> Grade:
    return Grade(False, None, f"error: {type(exc).__name__}: {exc}")


def grade_chunk(items: Sequence[tuple[str, str]], verifier: str, options: dict[str, Any]) -> list[Grade]:
    """Grade several responses in one worker call: one round trip per chunk, not per response,
    is what lets a pool of N workers approach N times the in-process rate."""
    grades = []
    for text, ground_truth in items:
        try:
            grades.append(grade_one(text, ground_truth, verifier, options))
        except Exception as exc:  # noqa: BLE001 - one bad item must not lose its chunk
            grades.append(_error(exc))
    return grades


def _context() -> multiprocessing.context.BaseContext:
    """Workers fork from a clean forkserver that has imported the verifiers and SymPy once, and
    start without re-running the parent's ``__main__`` (justrl.eval.grading_forkserver).

    Plain fork would copy a parent that may run threads (pebble's own, which restart killed
    workers) and its math-verify helper processes; spawn would import SymPy once per worker.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["justrl.eval.grading_forkserver", "justrl.eval.grading", *mathverify_worker.PRELOAD]
    )
    return context


def default_workers() -> int:
    """Every core this process may use (respects taskset / Slurm cpu binding)."""
    return len(os.sched_getaffinity(0))


def grade_all(
    tasks: Sequence[GradeTask],
    verifier: str = "hybrid",
    options: dict[str, Any] | None = None,
    workers: int | None = None,
    timeout_s: float = 30.0,
    progress: bool = True,
    desc: str = "grading",
) -> list[Grade]:
    """Grades in task order; a timed-out or crashing item is a wrong answer with its reason."""
    if verifier not in VERIFIERS and ":" not in verifier:
        raise ValueError(f"unknown verifier {verifier!r}; expected one of {', '.join(VERIFIERS)} or module:function")
    if ":" in verifier:
        try:
            resolve_verifier(verifier)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"verifier {verifier!r} cannot be imported: {exc}") from exc
    options = dict(options or {})
    items = [(t.text, t.ground_truth) for t in tasks]
    workers = workers or default_workers()
    size = chunk_size(len(items), workers)
    grades: list[Grade] = []
    # A verifier named module:function keeps math-verify's helpers: its worker may hold more
    # address space than math-verify's memory cap (a model-verifier second opinion), which would
    # make every in-process answer a MemoryError.
    in_process = mathverify_pool.answer_in_process if verifier in VERIFIERS else None
    with ProcessPool(max_workers=workers, context=_context(), initializer=in_process) as pool:
        # A chunk gets one response's deadline: healthy responses take milliseconds. A chunk that
        # misses it (one hanging response killed the worker) is graded again one response at a
        # time, each under its own deadline, so only the hanging response is lost.
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        futures = [pool.schedule(grade_chunk, args=(chunk, verifier, options), timeout=timeout_s) for chunk in chunks]
        with progress_bar(total=len(items), desc=desc, unit="response", disable=not progress) as bar:
            for chunk, future in zip(chunks, futures):
                try:
                    grades += future.result()
                except Exception:  # noqa: BLE001 - the chunk's worker died or timed out
                    grades += _one_by_one(pool, chunk, verifier, options, timeout_s)
                bar.update(len(chunk))
    return grades


def chunk_size(items: int, workers: int) -> int:
    """About eight chunks a worker, so a slow chunk does not idle the others, and at most 16
    responses a chunk (0.1-0.2 s of work): with 64, the last chunk of one worker left the other idle
    for ~3% of a 2-worker job, and a retried chunk and the progress bar stay fine-grained."""
    return max(1, min(16, items // (8 * workers)))


def _one_by_one(pool: ProcessPool, chunk: Sequence[tuple[str, str]], verifier: str, options: dict[str, Any], timeout_s: float) -> list[Grade]:
    futures = [pool.schedule(grade_one, args=(text, truth, verifier, options), timeout=timeout_s) for text, truth in chunk]
    grades = []
    for future in futures:
        try:
            grades.append(future.result())
        except FutureTimeout:
            grades.append(Grade(False, None, f"grading timed out after {timeout_s:g}s (worker killed)"))
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop the job
            grades.append(_error(exc))
    return grades
