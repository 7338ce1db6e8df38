"""Test doubles for the evaluation tests: a scripted generation engine and a slow verifier.

The engine implements justrl.eval.engine.GenerationEngine for real (threads and all); it only
replaces the neural network with a deterministic script, so the loop's resume and failure
handling can be checked exactly.
"""

from __future__ import annotations

import threading
import time

from justrl.eval.engine import Completion, SamplingSpec


class EngineCrash(RuntimeError):
    """What the scripted engine raises to stand for a GPU failure or preemption."""


class ScriptedEngine:
    """Answers every prompt with `n` boxed answers taken from `answers(prompt, j)`.

    `fail_on` names prompts whose shard raises EngineCrash; `calls` records the prompts of
    every successful call, so a test can say exactly which work must be on disk.
    """

    def __init__(self, answers, concurrency: int = 1, fail_on: set[str] | None = None) -> None:
        self.answers = answers
        self.concurrency = concurrency
        self.fail_on = fail_on or set()
        self.calls: list[list[str]] = []
        self.failed: list[list[str]] = []
        self.closed = False
        self._lock = threading.Lock()

    def generate(self, prompts: list[str], n: int, sampling: SamplingSpec) -> list[list[Completion]]:
        if self.fail_on.intersection(prompts):
            with self._lock:
                self.failed.append(list(prompts))
            raise EngineCrash(f"scripted failure on a shard of {len(prompts)} prompts")
        out = [
            [Completion(f"so the answer is \\boxed{{{self.answers(p, j)}}}", 7 + j, "stop") for j in range(n)]
            for p in prompts
        ]
        with self._lock:
            self.calls.append(list(prompts))
        return out

    def close(self) -> None:
        self.closed = True


def sleepy_verifier(response: str, ground_truth: str, **opts):
    """hybrid, except that responses containing SLOW hang well past any test deadline."""
    from reward_fns.verify import hybrid

    if "SLOW" in response:
        time.sleep(60)
    return hybrid(response, ground_truth, **opts)


def options_verifier(response: str, ground_truth: str, **opts):
    """Right when the response names exactly the options it was called with."""
    from reward_fns.result import VerifyResult

    seen = ",".join(sorted(opts))
    return VerifyResult(response == seen, seen, "options")
