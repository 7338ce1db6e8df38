"""pass@k, maj@N and avg@N against brute force and hand-computed values."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations

import pytest

from justrl.eval.metrics import k_values, majority_correct, pass_at_k, summarize


def brute_pass_at_k(n: int, c: int, k: int) -> Fraction:
    """Share of all k-subsets of n samples (c correct) that contain a correct sample."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(combinations(range(n), k))
    return Fraction(sum(any(samples[i] for i in s) for s in subsets), len(subsets))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8, 10])
def test_pass_at_k_equals_enumeration_of_all_subsets(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(float(brute_pass_at_k(n, c, k)), abs=1e-12)


def test_pass_at_k_known_values_for_the_justrl_n():
    # 32 samples, 1 correct: pass@k = k/32 exactly; pass@1 is always c/n.
    assert [pass_at_k(32, 1, k) for k in k_values(32)] == pytest.approx([k / 32 for k in (1, 2, 4, 8, 16, 32)])
    assert pass_at_k(32, 5, 1) == pytest.approx(5 / 32)
    assert pass_at_k(4, 2, 2) == pytest.approx(1 - 1 / 6)
    assert pass_at_k(32, 0, 32) == 0.0 and pass_at_k(32, 32, 1) == 1.0


@pytest.mark.parametrize("args", [(4, 5, 1), (4, 1, 0), (4, 1, 5), (4, -1, 1)])
def test_pass_at_k_rejects_impossible_counts(args):
    with pytest.raises(ValueError, match="pass@k needs"):
        pass_at_k(*args)


def test_k_values_are_powers_of_two_up_to_n():
    assert k_values(32) == [1, 2, 4, 8, 16, 32]
    assert k_values(4) == [1, 2, 4]
    assert k_values(6) == [1, 2, 4, 6]
    assert k_values(1) == [1]


def test_majority_vote():
    # the wrong "205" outvotes the right "204"
    assert majority_correct(["204", "205", "205", None], [True, False, False, False]) is False
    # whitespace does not split a vote; unanswered samples do not vote
    assert majority_correct(["\\frac{1}{2}", "\\frac {1}{2}", None, None, "3"], [True, True, False, False, False])
    # tie: the answer seen first wins
    assert majority_correct(["7", "8"], [True, False]) is True
    assert majority_correct(["8", "7"], [False, True]) is False
    assert majority_correct([None, None], [False, False]) is False


def test_summarize_hand_computed():
    correct = [[True, False, False, False], [True, True, True, True], [False, False, False, False]]
    preds = [["204", "205", "205", None], ["5"] * 4, [None] * 4]
    stats = summarize(correct, preds)
    assert stats["problems"] == 3 and stats["samples"] == 12
    assert stats["avg"] == pytest.approx((0.25 + 1 + 0) / 3)
    assert stats["pass_at_k"] == pytest.approx({"1": (0.25 + 1) / 3, "2": (0.5 + 1) / 3, "4": 2 / 3})
    assert stats["maj"] == pytest.approx(1 / 3)
    assert summarize([], [])["avg"] is None
