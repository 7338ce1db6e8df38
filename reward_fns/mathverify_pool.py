"""Bounded-time math-verify: a small pool of helper processes with a hard per-call deadline.

Why processes: math-verify's timeout relies on ``signal.alarm``, which raises in non-main
threads, and veRL runs reward functions in executor threads inside Ray workers; a thread cannot
be killed, a process can. Helpers are started with ``subprocess`` (not ``multiprocessing``) so
this works from daemonic processes and forked Ray workers alike, and they persist between calls
so SymPy is imported once, not per answer.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading

from reward_fns.guards import reject_reason
from reward_fns.result import VerifyResult

_STARTUP_TIMEOUT_S = 120.0


class _Helper:
    """One helper process; used by one thread at a time."""

    def __init__(self, memory_mb: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reward_fns.mathverify_worker", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if self._readline(_STARTUP_TIMEOUT_S) != "ready":
            self.close()
            raise RuntimeError("math-verify helper process failed to start")

    def _readline(self, timeout_s: float) -> str | None:
        ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, timeout_s))
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return line.strip() if line else None

    def ask(self, request: dict, timeout_s: float) -> dict | None:
        """The helper's reply, or None when it missed the deadline or died."""
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except OSError:
            return None
        line = self._readline(timeout_s)
        return json.loads(line) if line else None

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


class HelperPool:
    """At most ``size`` helpers; a helper that misses its deadline is killed, not reused."""

    def __init__(self, size: int, memory_mb: int) -> None:
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[_Helper] = []
        self._lock = threading.Lock()
        self.memory_mb = memory_mb

    def run(self, request: dict, timeout_s: float) -> dict | None:
        with self._slots:
            with self._lock:
                helper = self._idle.pop() if self._idle else None
            if helper is None:
                helper = _Helper(self.memory_mb)
            reply = helper.ask(request, timeout_s)
            if reply is None:
                helper.close()
            else:
                with self._lock:
                    self._idle.append(helper)
            return reply


_pools: dict[tuple[int, int], HelperPool] = {}
_pools_lock = threading.Lock()


def _forget_parent_pools() -> None:
    """A forked child (a DataLoader or pool worker) must not share its parent's helper pipes."""
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_parent_pools)


def _pool(size: int, memory_mb: int) -> HelperPool:
    with _pools_lock:
        return _pools.setdefault((size, memory_mb), HelperPool(size, memory_mb))


def _ask(request: dict, *, timeout_s: float, workers: int, memory_mb: int) -> VerifyResult:
    try:
        reply = _pool(workers, memory_mb).run(request, timeout_s)
    except (OSError, RuntimeError) as error:
        return VerifyResult(False, None, f"math-verify unavailable: {error}")
    if reply is None:
        return VerifyResult(False, None, f"math-verify timed out (deadline {timeout_s:g}s)")
    return VerifyResult(bool(reply["correct"]), reply["pred"], reply["reason"])


def verify(
    text: str,
    ground_truth: str,
    *,
    timeout_s: float = 5.0,
    workers: int = 2,
    memory_mb: int = 2048,
    precheck: bool = True,
) -> VerifyResult:
    """Compare the answer in ``text`` with ``ground_truth``; never blocks longer than ``timeout_s``.

    ``precheck=False`` skips the guards so tests can prove the deadline alone bounds the time.
    """
    if precheck:
        problem = reject_reason(ground_truth, "ground truth", require_balanced=True) or reject_reason(
            text, "response"
        )
        if problem:
            return VerifyResult(False, None, f"rejected before parsing: {problem}")
    return _ask({"text": text, "gold": ground_truth}, timeout_s=timeout_s, workers=workers, memory_mb=memory_mb)


def sympy_equivalent(
    a: str,
    b: str,
    *,
    timeout_s: float = 5.0,
    workers: int = 2,
    memory_mb: int = 2048,
) -> VerifyResult:
    """JustTinker's SymPy step on two rewritten normal forms, in a helper under the deadline.

    ``pred`` is None: the caller knows the answer it extracted.
    """
    for text, what in ((a, "answer"), (b, "ground truth")):
        problem = reject_reason(text, what)
        if problem:
            return VerifyResult(False, None, f"rejected before parsing: {problem}")
    request = {"kind": "sympy_equivalent", "a": a, "b": b}
    return _ask(request, timeout_s=timeout_s, workers=workers, memory_mb=memory_mb)
