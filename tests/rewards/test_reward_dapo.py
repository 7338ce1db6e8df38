"""The DAPO rule verifier agrees with veRL's own math_dapo.compute_score.

veRL's repository has no test cases for math_dapo (none in volcengine/verl's tests/ at b178a3c,
2026-01-29, nor in its history on main), so the reference is its compute_score itself, run beside
ours on every case: 3000 generated from the bundled benchmarks' ground truths, and the known cases.
"""

from __future__ import annotations

import pytest
from verl.utils.reward_score.math_dapo import compute_score as verl_compute_score

from reward_cases import dapo_cases
from reward_fns.verify import dapo

N_CASES = 3000


@pytest.fixture(scope="module")
def cases(benchmarks_dir):
    return dapo_cases(benchmarks_dir, N_CASES)


def _verl(response: str, answer: str, strict: bool) -> tuple[bool, str | None]:
    ref = verl_compute_score(response, answer, strict_box_verify=strict)
    return bool(ref["acc"]), ref["pred"]


def test_agrees_with_verl_on_generated_corpus(cases):
    mismatches = []
    for response, answer, strict in cases:
        ours = dapo(response, answer, strict_box=strict)
        acc, pred = _verl(response, answer, strict)
        expected_pred = None if pred == "[INVALID]" else pred
        if (ours.correct, ours.pred) != (acc, expected_pred):
            mismatches.append((response[-120:], answer, strict, ours, acc, pred))
    assert not mismatches, mismatches[:5]


def test_corpus_exercises_both_verdicts_and_both_modes(cases):
    verdicts = {(strict, _verl(r, a, strict)[0]) for r, a, strict in cases}
    assert verdicts == {(True, True), (True, False), (False, True), (False, False)}
    correct = sum(dapo(r, a, strict_box=s).correct for r, a, s in cases)
    assert 0.2 * N_CASES < correct < 0.8 * N_CASES


@pytest.mark.parametrize(
    ("response", "answer", "strict", "correct", "pred"),
    [
        # Strict box: exact string equality, no normalisation.
        ("so \\boxed{204}", "204", True, True, "204"),
        ("so \\boxed{ 204}", "204", True, False, " 204"),
        ("so \\boxed{\\frac{1}{2}}", "\\frac12", True, False, "\\frac{1}{2}"),
        # The box must be within the last 100 characters.
        ("\\boxed{204}" + "." * 95, "204", True, False, None),
        ("\\boxed{204}" + "." * 80, "204", True, True, "204"),
        # Only the last 300 characters are read at all.
        ("Answer: 7\n" + "x" * 300, "7", False, False, None),
        # Non-strict: the Answer line wins over a box and is Minerva-normalised.
        ("Answer: $1,000$ dollars\n\\boxed{5}", "1000", False, True, "1000"),
        ("Answer: 12 degrees", "12", False, True, "12"),
        ("Answer: 5\n\\boxed{7}", "7", False, False, "5"),
        # Without an Answer line the box is the fallback, compared unnormalised.
        ("thus \\boxed{7}", "7", False, True, "7"),
        ("thus \\boxed{7}", "$7$", False, False, "7"),
    ],
)
def test_known_cases(response, answer, strict, correct, pred):
    result = dapo(response, answer, strict_box=strict)
    assert (result.correct, result.pred) == (correct, pred)
    assert (bool(verl_compute_score(response, answer, strict_box_verify=strict)["acc"])) == correct


@pytest.mark.parametrize(
    ("response", "answer", "reason"),
    [
        (None, "1", "response is not a string (got NoneType)"),
        (b"\\boxed{1}", "1", "response is not a string (got bytes)"),
        ("   ", "1", "response is empty"),
        ("\\boxed{1}", "", "ground truth is empty"),
        ("\\boxed{1}", None, "ground truth is not a string (got NoneType)"),
        ("\x00\x01\x02\x03 \\boxed{1}", "1", "response looks binary (control or undecodable characters)"),
        ("x" * 600_000, "1", "response too long (600000 characters, at most 500000)"),
        ("\\boxed{1}", "1" * 2000, "ground truth too long (2000 characters, at most 1000)"),
    ],
)
def test_bad_input_is_incorrect_with_reason(response, answer, reason):
    assert dapo(response, answer, strict_box=True) == dapo(response, answer)
    result = dapo(response, answer)
    assert (result.correct, result.pred, result.reason) == (False, None, reason)
