"""Helper process for math-verify: reads JSON requests on stdin, answers JSON lines on stdout.

A request is a math-verify comparison of a response with a ground truth, or (``kind``
``sympy_equivalent``) JustTinker's SymPy step on two rewritten normal forms, parsed without
``eval`` by ``reward_fns.safe_sympy``: both need SymPy, the deadline and the memory cap.

math-verify's own signal-based timeouts are switched off here: they report a timeout as "not
equivalent" and cannot interrupt a long C-level SymPy computation anyway. The parent enforces
the deadline by killing this process, so a timeout is always reported as one. An address-space cap
turns a SymPy blow-up into a MemoryError here instead of an OOM kill of the Ray node.

``answer`` is also called in-process by ``mathverify_pool`` in a process whose parent enforces the
deadline itself (grade_all's pool workers).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import resource
import sys
import threading
import time
from typing import Iterator

# What a process imports before its first answer, so that no answer pays SymPy's import.
PRELOAD = ("math_verify", "reward_fns.safe_sympy")


@contextlib.contextmanager
def memory_cap(memory_mb: int) -> Iterator[None]:
    """Cap this process's address space while the block runs, then restore the old limit: a process
    that answers in-process must not be left unable to allocate for its own work after an answer."""
    old = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_mb << 20 if old[1] == resource.RLIM_INFINITY else min(memory_mb << 20, old[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)


def _sympy_equivalent(request: dict) -> dict:
    from reward_fns.safe_sympy import equivalent

    correct, reason = equivalent(request["a"], request["b"])
    return {"correct": correct, "pred": None, "reason": reason}


def _answer(request: dict) -> dict:
    if request.get("kind") == "sympy_equivalent":
        return _sympy_equivalent(request)
    from math_verify import LatexExtractionConfig, parse, verify

    from reward_fns.antlr_compat import patch_latex_parser

    patch_latex_parser()
    gold = parse(
        "\\boxed{" + request["gold"] + "}",
        extraction_config=[LatexExtractionConfig()],
        parsing_timeout=None,
    )
    if not gold:
        return {"correct": False, "pred": None, "reason": "ground truth not parseable by math-verify"}
    pred = parse(request["text"], parsing_timeout=None)
    if not pred:
        return {"correct": False, "pred": None, "reason": "no answer math-verify can parse"}
    correct = bool(verify(gold, pred, timeout_seconds=None, **request.get("compare", {})))
    return {"correct": correct, "pred": str(pred[-1]), "reason": "equivalent" if correct else "not equivalent"}


def answer(request: dict) -> dict:
    """The verdict on one request; never raises: any parser failure is an "incorrect" verdict."""
    try:
        return _answer(request)
    except Exception as error:  # noqa: BLE001
        return {"correct": False, "pred": None, "reason": f"math-verify error: {type(error).__name__}"}


def _exit_with_parent(parent: int) -> None:
    """A helper stuck in SymPy would outlive a crashed Ray worker; this thread ends it."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def main() -> None:
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    logging.disable(logging.WARNING)
    with memory_cap(int(sys.argv[1])):
        for module in PRELOAD:  # pay the SymPy import before announcing readiness
            importlib.import_module(module)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        for line in sys.stdin:
            sys.stdout.write(json.dumps(answer(json.loads(line))) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
