"""Answer verifiers: the DAPO rule verifier, bounded-time math-verify, their hybrid, JustTinker's.

Every verifier has the shape ``(response, ground_truth, **options) -> VerifyResult`` and never
raises: the reward is computed inside veRL's reward workers, where one exception stops a run
that costs weeks of cluster time, so bad input becomes ``correct=False`` with a reason.

``dapo`` reproduces veRL's ``verl.utils.reward_score.math_dapo.compute_score`` decision
(the agreement test proves it on a generated corpus) and reuses veRL's own normalisation and
boxed-extraction helpers by import; only the control flow is ours, because veRL's version
raises on non-string input and does not say *why* an answer was rejected.
"""

from __future__ import annotations

import re

from reward_fns.dapo_strings import last_boxed_only_string, normalize_final_answer, remove_boxed

from reward_fns import justtinker as rules
from reward_fns import mathverify_pool
from reward_fns.result import VerifyResult
from reward_fns.sanitize import check_ground_truth, check_text

# veRL reads only the response tail: the longest MATH-500 answer has 159 characters.
DAPO_TAIL_CHARS = 300
# Strict-box mode looks for the last \boxed{} only within the last 100 characters of that tail.
STRICT_BOX_CHARS = 100
# Longer responses are rejected unread, before any parsing.
MAX_RESPONSE_CHARS = 500_000
_MINERVA_ANSWER = re.compile(r"(?i)Answer\s*:\s*([^\n]+)")
_INVALID = "[INVALID]"


def _last_box_in_tail(text: str) -> str | None:
    boxed = last_boxed_only_string(text[-STRICT_BOX_CHARS:])
    return remove_boxed(boxed) if boxed is not None else None


def dapo(
    response: object,
    ground_truth: object,
    *,
    strict_box: bool = False,
    max_response_chars: int = MAX_RESPONSE_CHARS,
    **_: object,
) -> VerifyResult:
    """DAPO rule verifier with veRL ``math_dapo`` semantics.

    Non-strict: the last ``Answer: ...`` line, Minerva-normalised, must equal the normalised
    ground truth; without such a line, the last ``\\boxed{}`` near the end must equal the raw
    ground truth. Strict (JustRL training): only the boxed comparison, exact string equality.
    """
    problem = check_text(response, "response", max_chars=max_response_chars) or check_ground_truth(ground_truth)
    if problem:
        return VerifyResult(False, None, problem)
    tail = response[-DAPO_TAIL_CHARS:]
    if not strict_box:
        matches = _MINERVA_ANSWER.findall(tail)
        pred = normalize_final_answer(matches[-1] if matches else _INVALID)
        if pred != _INVALID:
            correct = pred == normalize_final_answer(ground_truth)
            return VerifyResult(correct, pred, "answer line matches" if correct else "answer line differs")
    pred = _last_box_in_tail(tail)
    if pred is None:
        reason = "no \\boxed{} in the last 100 characters" if strict_box else "no answer line and no \\boxed{}"
        return VerifyResult(False, None, reason)
    correct = pred == ground_truth
    return VerifyResult(correct, pred, "boxed answer matches" if correct else "boxed answer differs")


def math_verify(
    response: object,
    ground_truth: object,
    *,
    timeout_s: float = 5.0,
    tail_chars: int = 4000,
    max_response_chars: int = MAX_RESPONSE_CHARS,
    workers: int = 2,
    memory_mb: int = 2048,
    precheck: bool = True,
    float_rounding: int = 6,
    strict: bool = True,
    allow_set_relation_comp: bool = False,
    **_: object,
) -> VerifyResult:
    """math-verify equivalence, bounded in time from any thread or process.

    math-verify's own timeout uses ``signal.alarm``, which only works on the main thread; veRL
    calls reward functions from executor threads inside Ray workers. So the parse and compare run
    in a helper process that is killed at the deadline; cheap pre-checks reject pathological
    answers before they reach SymPy. Only the last ``tail_chars`` characters are parsed: math-verify
    prefers the last answer anyway, and the tail bounds the work on 100k-character responses.
    ``float_rounding``, ``strict`` and ``allow_set_relation_comp`` are Math-Verify's own comparison
    options, with its defaults (docs/graders.md).
    """
    problem = check_text(response, "response", max_chars=max_response_chars) or check_ground_truth(
        ground_truth
    )
    if problem:
        return VerifyResult(False, None, problem)
    return mathverify_pool.verify(
        response[-tail_chars:],
        ground_truth,
        timeout_s=timeout_s,
        workers=workers,
        memory_mb=memory_mb,
        precheck=precheck,
        compare={"float_rounding": float_rounding, "strict": strict, "allow_set_relation_comp": allow_set_relation_comp},
    )


def hybrid(response: object, ground_truth: object, *, strict_box: bool = False, **opts: object) -> VerifyResult:
    """DAPO first (cheap, exact), math-verify only when DAPO says no: how benchmarks are graded."""
    problem = check_text(response, "response", max_chars=int(opts.get("max_response_chars", MAX_RESPONSE_CHARS)))
    problem = problem or check_ground_truth(ground_truth)
    if problem:
        return VerifyResult(False, None, problem)
    first = dapo(response, ground_truth, strict_box=strict_box, **opts)
    if first.correct:
        return first
    second = math_verify(response, ground_truth, **opts)
    if second.correct:
        return second
    return VerifyResult(False, second.pred or first.pred, f"dapo: {first.reason}; math-verify: {second.reason}")


def dapo_strict_box(response: object, ground_truth: object, **opts: object) -> VerifyResult:
    """DAPO in strict-box mode: how JustRL grades its training data."""
    return dapo(response, ground_truth, **{**opts, "strict_box": True})


def justtinker(
    response: object,
    ground_truth: object,
    *,
    timeout_s: float = 5.0,
    max_response_chars: int = 500_000,
    workers: int = 2,
    memory_mb: int = 2048,
    **_: object,
) -> VerifyResult:
    """JustTinker's verifier: its extraction and normal form, then string, numeric and SymPy
    equality (``reward_fns.justtinker``).

    The whole response is read, as JustTinker does. The SymPy step parses without ``eval``
    (``reward_fns.safe_sympy``) in the bounded helper process; it runs only when the cheap
    steps say no.
    """
    problem = check_text(response, "response", max_chars=max_response_chars) or check_ground_truth(ground_truth)
    if problem:
        return VerifyResult(False, None, problem)
    pred = rules.extract_answer(response)
    if pred is None:
        return VerifyResult(False, None, "no \\boxed{}, 'the answer is', '####' or 'Answer:'")
    answer, gold = rules.normalize(pred), rules.normalize(ground_truth)
    if answer == gold:
        return VerifyResult(True, pred, "normal forms equal")
    if rules.numeric_equal(answer, gold):
        return VerifyResult(True, pred, "numerically equal")
    if rules.distinct_integers(answer, gold):
        return VerifyResult(False, pred, "different integers")
    result = mathverify_pool.sympy_equivalent(
        rules.sympy_text(answer), rules.sympy_text(gold), timeout_s=timeout_s, workers=workers, memory_mb=memory_mb
    )
    return VerifyResult(result.correct, pred, result.reason)


__all__ = ["VerifyResult", "dapo", "dapo_strict_box", "math_verify", "hybrid", "justtinker", "VERIFIERS"]

VERIFIERS = {
    "dapo": dapo,
    "dapo_strict_box": dapo_strict_box,
    "math_verify": math_verify,
    "hybrid": hybrid,
    "justtinker": justtinker,
}
