"""The reward's terms: correctness, the format bonus, the redundancy penalty, DAPO's overlong penalty.

Each is a pure function of (response, ground truth, options) registered by name
(``reward_fns.term_registry``); its keyword-only parameters are its options, their defaults the
only defaults. Correctness is the base of every reward: its options are the top level of the
spec (``reward_kwargs``); every other term is listed under ``reward_kwargs.terms`` with a weight,
and its value is multiplied by that weight. Format and redundancy apply to correct answers only,
as in JustTinker: a wrong answer already earns the lowest reward.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Annotated

from reward_fns import redundancy as loops
from reward_fns.checks import boolean, choice, number, positive, string_list
from reward_fns.format import THINK_CHECKS, has_boxed, has_think_block, has_think_close
from reward_fns.result import VerifyResult
from reward_fns.term_registry import Response, TermValue, term
from reward_fns.verify import VERIFIERS

# The options the verifiers of reward_fns.verify take (correctness' `verifier_options`); their
# defaults are the verifiers' own.
VERIFIER_OPTIONS = MappingProxyType(
    {
        "timeout_s": positive(float),
        "workers": positive(int),
        "memory_mb": positive(int),
        "tail_chars": positive(int),
        "max_response_chars": positive(int),
        "precheck": boolean,
        "strict_box": boolean,
        "float_rounding": positive(int),
        "strict": boolean,
        "allow_set_relation_comp": boolean,
    }
)
_NO_OPTIONS: Mapping[str, object] = MappingProxyType({})
# Redundancy diagnostics of a response with no text to measure.
_NO_STATS = MappingProxyType(dict.fromkeys(("compression", "ngram", "chunk_similarity", "score"), 0.0))


def _ground_truth(value: object) -> object:
    """Numbers become strings; a ground truth written as ``\\boxed{x}`` (AIME24 files) becomes x."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.startswith("\\boxed{") and value.endswith("}"):
        return value[len("\\boxed{") : -1]
    return value


@term("correctness", unmeasured={"acc": 0.0, "pred": ""})
def correctness(
    response: Response,
    ground_truth: object,
    *,
    training_sources: Annotated[Sequence[str], string_list] = ("math_dapo",),
    training_verifier: Annotated[str, choice(lambda: VERIFIERS)] = "dapo_strict_box",
    verifier: Annotated[str, choice(lambda: VERIFIERS)] = "hybrid",
    correct_score: Annotated[float, number()] = 1.0,
    incorrect_score: Annotated[float, number()] = -1.0,
    verifier_options: Annotated[Mapping[str, object], VERIFIER_OPTIONS] = _NO_OPTIONS,
) -> TermValue:
    """``correct_score`` or ``incorrect_score``: training sources graded by ``training_verifier``
    (JustRL: DAPO strict box), every other source (the benchmarks) by ``verifier``."""
    grader = VERIFIERS[training_verifier if response.data_source in tuple(training_sources) else verifier]
    try:
        result = grader(response.solution, _ground_truth(ground_truth), **verifier_options)
    except Exception as error:  # noqa: BLE001  (the contract: never raise inside training)
        result = VerifyResult(False, None, f"reward error: {type(error).__name__}: {error}")
    diagnostics = {"acc": float(result.correct), "pred": result.pred if result.pred is not None else "", "reason": result.reason}
    return TermValue(correct_score if result.correct else incorrect_score, diagnostics)


@term("format", unmeasured={"has_think": 0.0, "boxed": 0.0})
def format_bonus(
    response: Response,
    ground_truth: object,
    *,
    think_check: Annotated[str, choice(lambda: THINK_CHECKS)] = "single_block",
    think_opened_by_prompt: Annotated[bool, boolean] = False,
) -> TermValue:
    """-1 for a correct answer without a thinking block (JustTinker: the first symptom of collapse)."""
    text = response.text
    if think_check == "closing_tag":
        think = has_think_close(text)
    else:
        think = has_think_block(text, opened_by_prompt=think_opened_by_prompt)
    boxed = has_boxed(text)
    return TermValue(-1.0 if response.correct and not think else 0.0, {"has_think": float(think), "boxed": float(boxed)})


@term("redundancy", unmeasured={"redundancy": 0.0, "chunk_similarity": 0.0})
def redundancy(
    response: Response,
    ground_truth: object,
    *,
    threshold: Annotated[float, number(low=0.0, high=1.0)] = 0.3,
    method: Annotated[str, choice(lambda: loops.METHODS)] = "default",
) -> TermValue:
    """Down to -1 for a correct answer, linear in its redundancy score above ``threshold``."""
    stats = loops.analyze(response.text, method) if response.text else _NO_STATS
    value = -loops.penalty(stats["score"], threshold=threshold, weight=1.0) if response.correct else 0.0
    return TermValue(value, {"redundancy": stats["score"], "chunk_similarity": stats["chunk_similarity"]})


@term("overlong", unmeasured={"overlong_tokens": 0.0}, needs_tokens=True)
def overlong(
    response: Response,
    ground_truth: object,
    *,
    buffer_len: Annotated[int, positive(int)] = 4096,
) -> TermValue:
    """DAPO's soft overlong punishment: 0 up to ``max_length - buffer_len`` tokens, then linear down
    to -1 at ``max_length`` (the term's weight is DAPO's ``penalty_factor``). veRL's DAPO reward
    manager: ``min(-(length - (max_length - buffer_len)) / buffer_len * penalty_factor, 0)``.

    The token counts come from ``justrl.reward_manager`` (veRL's managers do not pass them to a
    custom reward function); without them the term is 0 and ``overlong_tokens`` is -1."""
    if response.length is None or response.max_length is None:
        return TermValue(0.0, {"overlong_tokens": -1.0})
    exceed = response.length - (response.max_length - buffer_len)
    return TermValue(min(-exceed / buffer_len, 0.0), {"overlong_tokens": float(max(exceed, 0))})
