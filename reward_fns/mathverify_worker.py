"""Helper process for math-verify: reads JSON requests on stdin, answers JSON lines on stdout.

It runs on its own main thread, so math-verify's signal-based timeouts work here as a soft
limit; the parent enforces the hard deadline by killing this process. An address-space cap
turns a SymPy blow-up into a MemoryError here instead of an OOM kill of the Ray node.
"""

from __future__ import annotations

import json
import resource
import sys


def _answer(request: dict) -> dict:
    from math_verify import LatexExtractionConfig, parse, verify

    soft = max(1, int(request["timeout_s"]))
    gold = parse(
        "\\boxed{" + request["gold"] + "}",
        extraction_config=[LatexExtractionConfig()],
        parsing_timeout=soft,
    )
    if not gold:
        return {"correct": False, "pred": None, "reason": "ground truth not parseable by math-verify"}
    pred = parse(request["text"], parsing_timeout=soft)
    if not pred:
        return {"correct": False, "pred": None, "reason": "no answer math-verify can parse"}
    correct = bool(verify(gold, pred, timeout_seconds=soft))
    return {"correct": correct, "pred": str(pred[-1]), "reason": "equivalent" if correct else "not equivalent"}


def main() -> None:
    memory_mb = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    import math_verify  # noqa: F401  (pay the SymPy import before announcing readiness)

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
