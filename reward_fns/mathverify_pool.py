"""Bounded-time math-verify: a small pool of helper processes with a hard per-call deadline.

Why processes: math-verify's timeout relies on ``signal.alarm``, which raises in non-main
threads, and veRL runs reward functions in executor threads inside Ray workers; a thread cannot
be killed, a process can. Helpers are started with ``subprocess`` (not ``multiprocessing``) so
this works from daemonic processes and forked Ray workers alike, and they persist between calls
so SymPy is imported once, not per answer.

A process whose parent already kills it at a deadline (grade_all's pool workers, under pebble)
calls ``answer_in_process`` and answers without helpers: a second process, its SymPy import and a
pipe round trip per answer would buy it nothing.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time

from reward_fns import mathverify_worker
from reward_fns.guards import parsed_part, reject_reason
from reward_fns.result import VerifyResult

# A helper that has not announced readiness this long after its start is hung: it is replaced.
_STARTUP_TIMEOUT_S = 120.0
_REPLY_KEYS = ("correct", "pred", "reason")


class NoReply(Exception):
    """No verdict within the call: the message is the reason the verifier reports."""


class _Helper:
    """One helper process; used by one thread at a time. It starts in the background: the first
    call that gets it waits for its "ready" line only as long as that call's deadline allows."""

    def __init__(self, memory_mb: int) -> None:
        self.started = time.monotonic()
        self.ready = False
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reward_fns.mathverify_worker", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def _readline(self, timeout_s: float) -> str | None:
        ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, timeout_s))
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return line.strip() if line else None

    def wait_ready(self, timeout_s: float) -> bool:
        """Whether the helper is ready; raises RuntimeError when it died or hung while starting."""
        if not self.ready:
            line = self._readline(min(timeout_s, self.started + _STARTUP_TIMEOUT_S - time.monotonic()))
            if line == "ready":
                self.ready = True
            elif line is not None or self.proc.poll() is not None or time.monotonic() - self.started >= _STARTUP_TIMEOUT_S:
                raise RuntimeError("math-verify helper process failed to start")
        return self.ready

    def ask(self, request: dict, timeout_s: float, deadline_s: float) -> dict:
        """The helper's reply; NoReply when it missed the deadline, died or answered something else
        (a stray print would shift every later reply by one line, so such a helper is not reused)."""
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except OSError:
            raise NoReply("math-verify helper died (replaced)") from None
        line = self._readline(timeout_s)
        if line is None:
            raise NoReply(f"math-verify timed out (deadline {deadline_s:g}s, waiting for a helper included)")
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        if not (isinstance(reply, dict) and all(k in reply for k in _REPLY_KEYS)):
            raise NoReply("math-verify helper answered something other than a verdict (replaced)")
        return reply

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


class HelperPool:
    """At most ``size`` helpers; one that misses its deadline or answers garbage is killed, not reused.

    Helpers start when the pool is made (``warm_up`` waits for them once) and in the background
    when one is killed, so a call rarely spends its deadline on SymPy's import.
    """

    def __init__(self, size: int, memory_mb: int) -> None:
        self.size = size
        self.memory_mb = memory_mb
        self._slots = threading.BoundedSemaphore(size)
        self._idle = [_Helper(memory_mb) for _ in range(size)]
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Wait, outside any call's deadline, for the first helpers to start: a reward or grading
        worker that has just begun would otherwise time out its first answers on a loaded node."""
        try:
            for helper in self._idle:
                if not helper.wait_ready(_STARTUP_TIMEOUT_S):
                    raise RuntimeError("math-verify helper process failed to start")
        except RuntimeError:
            for helper in self._idle:
                helper.close()
            raise

    def run(self, request: dict, timeout_s: float) -> dict:
        """The helper's reply within ``timeout_s`` for the whole call: waiting for a free helper
        and for a new helper to start count against it. Raises NoReply with the reason otherwise."""
        deadline = time.monotonic() + timeout_s
        if not self._slots.acquire(timeout=timeout_s):
            raise NoReply(f"math-verify timed out (deadline {timeout_s:g}s, all of it waiting for one of {self.size} busy helpers)")
        try:
            with self._lock:
                helper = self._idle.pop() if self._idle else None
            helper = helper or _Helper(self.memory_mb)
            try:
                ready = helper.wait_ready(deadline - time.monotonic())
            except RuntimeError:
                helper.close()
                raise
            if not ready:
                with self._lock:
                    self._idle.append(helper)  # still starting: the next call picks it up
                raise NoReply(f"math-verify timed out (deadline {timeout_s:g}s, all of it waiting for a helper to start)")
            try:
                reply = helper.ask(request, deadline - time.monotonic(), timeout_s)
            except NoReply:
                helper.close()
                with self._lock:
                    self._idle.append(_Helper(self.memory_mb))
                raise
            with self._lock:
                self._idle.append(helper)
            return reply
        finally:
            self._slots.release()


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
        if (size, memory_mb) not in _pools:
            pool = HelperPool(size, memory_mb)
            pool.warm_up()
            _pools[(size, memory_mb)] = pool
        return _pools[(size, memory_mb)]


_in_process = False


def answer_in_process() -> None:
    """From now on this process answers itself, without helpers; ``timeout_s`` and ``workers`` are
    then ignored. Nothing here interrupts a runaway SymPy call, so only a process that something
    else kills at a deadline may call this (grade_all's workers: pebble kills them)."""
    global _in_process
    for module in mathverify_worker.PRELOAD:
        importlib.import_module(module)
    # math-verify warns once per process that its own (signal-based) timeouts are off.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    _in_process = True


def _reply(request: dict, *, timeout_s: float, workers: int, memory_mb: int) -> dict:
    if _in_process:
        with mathverify_worker.memory_cap(memory_mb):
            return mathverify_worker.answer(request)
    return _pool(workers, memory_mb).run(request, timeout_s)


def _ask(request: dict, *, timeout_s: float, workers: int, memory_mb: int) -> VerifyResult:
    try:
        reply = _reply(request, timeout_s=timeout_s, workers=workers, memory_mb=memory_mb)
    except NoReply as reason:
        return VerifyResult(False, None, str(reason))
    except (OSError, RuntimeError) as error:
        return VerifyResult(False, None, f"math-verify unavailable: {error}")
    return VerifyResult(bool(reply["correct"]), reply["pred"], reply["reason"])


def verify(
    text: str,
    ground_truth: str,
    *,
    timeout_s: float = 5.0,
    workers: int = 2,
    memory_mb: int = 2048,
    precheck: bool = True,
    compare: dict | None = None,
) -> VerifyResult:
    """Compare the answer in ``text`` with ``ground_truth``; never blocks much longer than ``timeout_s``,
    however many threads share the pool (the wait for a helper counts against the deadline).

    ``precheck=False`` skips the guards so tests can prove the deadline alone bounds the time.
    ``compare`` holds keyword options for Math-Verify's ``verify`` (``float_rounding``, ``strict``, ...).
    """
    if precheck:
        problem = reject_reason(ground_truth, "ground truth", require_balanced=True) or reject_reason(
            parsed_part(text), "response"
        )
        if problem:
            return VerifyResult(False, None, f"rejected before parsing: {problem}")
    request = {"text": text, "gold": ground_truth, "compare": compare or {}}
    return _ask(request, timeout_s=timeout_s, workers=workers, memory_mb=memory_mb)


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
