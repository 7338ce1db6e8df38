"""Accuracy statistics over N graded samples per problem (pure functions, no I/O).

avg@N (mean per-problem accuracy) is what JustRL reports as Pass@1; pass@k uses the unbiased
estimator of Chen et al. (2021) so that it does not depend on which k of the N samples one
happens to look at.
"""

from __future__ import annotations

from collections import Counter
from math import comb
from typing import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """P(at least one of k samples drawn without replacement from n is correct), c correct."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    return 1.0 - comb(n - c, k) / comb(n, k)


def k_values(n: int) -> list[int]:
    """1, 2, 4, ... up to n, plus n itself when n is not a power of two."""
    ks = [1 << i for i in range(n.bit_length()) if (1 << i) <= n]
    return ks if ks[-1] == n else ks + [n]


def majority_correct(preds: Sequence[str | None], correct: Sequence[bool]) -> bool:
    """maj@N: is the most frequent extracted answer right? Ties go to the earliest answer.

    Answers are compared as strings with whitespace removed; samples without an answer do not
    vote. The verdict of a group is that of its first sample (same string, same verdict).
    """
    keys = ["".join(p.split()) if p else None for p in preds]
    votes = Counter(k for k in keys if k)
    if not votes:
        return False
    best = max(votes.values())
    winner = next(k for k in keys if k and votes[k] == best)
    return bool(correct[keys.index(winner)])


def summarize(per_item_correct: Sequence[Sequence[bool]], per_item_preds: Sequence[Sequence[str | None]]) -> dict:
    """avg@N, pass@k for every k up to the smallest N, and maj@N over a benchmark's problems."""
    if not per_item_correct:
        return {"problems": 0, "samples": 0, "avg": None, "pass_at_k": {}, "maj": None}
    n_min = min(len(c) for c in per_item_correct)
    problems = len(per_item_correct)
    return {
        "problems": problems,
        "samples": sum(len(c) for c in per_item_correct),
        "avg": sum(sum(c) / len(c) for c in per_item_correct) / problems,
        "pass_at_k": {
            str(k): sum(pass_at_k(len(c), sum(c), k) for c in per_item_correct) / problems for k in k_values(n_min)
        },
        "maj": sum(majority_correct(p, c) for p, c in zip(per_item_preds, per_item_correct)) / problems,
    }
