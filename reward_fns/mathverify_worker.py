"""Helper process for math-verify: reads JSON requests on stdin, answers JSON lines on stdout.

A request is a math-verify comparison of a response with a ground truth, or (``kind``
``sympy_equivalent``) JustTinker's SymPy step on two rewritten normal forms, parsed without
``eval`` by ``reward_fns.safe_sympy``: both need SymPy, the deadline and the memory cap.

math-verify's own signal-based timeouts are switched off here: they report a timeout as "not
equivalent" and cannot interrupt a long C-level SymPy computation anyway. The parent enforces
the deadline by killing this process, so a timeout is always reported as one. An address-space cap
turns a SymPy blow-up into a MemoryError here instead of an OOM kill of the Ray node.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import threading
import time


def _sympy_equivalent(request: dict) -> dict:
    from reward_fns.safe_sympy import equivalent

    correct, reason = equivalent(request["a"], request["b"])
    return {"correct": correct, "pred": None, "reason": reason}


def _answer(request: dict) -> dict:
    if request.get("kind") == "sympy_equivalent":
        return _sympy_equivalent(request)
    from math_verify import LatexExtractionConfig, parse, verify

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
    correct = bool(verify(gold, pred, timeout_seconds=None))
    return {"correct": correct, "pred": str(pred[-1]), "reason": "equivalent" if correct else "not equivalent"}


def _exit_with_parent(parent: int) -> None:
    """A helper stuck in SymPy would outlive a crashed Ray worker; this thread ends it."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def main() -> None:
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    logging.disable(logging.WARNING)
    memory_mb = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    import math_verify  # noqa: F401  (pay the SymPy import before announcing readiness)
    import reward_fns.safe_sympy  # noqa: F401

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            reply = _answer(json.loads(line))
        except Exception as error:  # noqa: BLE001  (any parser failure is an "incorrect" verdict)
            reply = {"correct": False, "pred": None, "reason": f"math-verify error: {type(error).__name__}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
