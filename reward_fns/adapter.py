"""The one function veRL calls: ``reward.custom_reward_function`` points here (``pkg://`` path).

Everything it composes is a pure function chosen by ``reward_kwargs`` from the YAML config
group (``configs/reward/justrl.yaml`` or ``justtinker.yaml``), so a recipe's reward is fully
described by its config. It never raises: one exception here stops a multi-week run, so any
failure becomes the incorrect score with a reason in ``pred``-adjacent diagnostics.
"""

from __future__ import annotations

from collections.abc import Sequence

from reward_fns import redundancy
from reward_fns.format import has_boxed, has_think_block
from reward_fns.result import VerifyResult
from reward_fns.verify import VERIFIERS, dapo

# Redundancy diagnostics of a response with no text to measure (read only, never mutated).
_NO_STATS = dict.fromkeys(("compression", "ngram", "chunk_similarity", "score"), 0.0)


def _ground_truth(value: object) -> object:
    """Numbers become strings; a ground truth written as ``\\boxed{x}`` (AIME24 files) becomes x."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.startswith("\\boxed{") and value.endswith("}"):
        return value[len("\\boxed{") : -1]
    return value


def _verify(
    data_source: object,
    response: object,
    ground_truth: object,
    verifier: str,
    training_sources: Sequence[str],
    options: dict,
) -> VerifyResult:
    if data_source in training_sources:
        return dapo(response, ground_truth, strict_box=True)
    return VERIFIERS[verifier](response, ground_truth, **options)


def compute_score(
    data_source: object,
    solution_str: object,
    ground_truth: object,
    extra_info: dict | None = None,
    *,
    verifier: str = "hybrid",
    training_sources: Sequence[str] = ("math_dapo",),
    correct_score: float = 1.0,
    incorrect_score: float = -1.0,
    format_weight: float = 0.0,
    redundancy_weight: float = 0.0,
    redundancy_threshold: float = 0.3,
    redundancy_method: str = "default",
    think_opened_by_prompt: bool = False,
    verifier_options: dict | None = None,
    **_: object,
) -> dict:
    """Score one response.

    Training sources are graded as JustRL trains (DAPO strict box); every other data source
    (the benchmarks) with ``verifier`` (hybrid by default). Penalties apply to correct answers
    only, as in JustTinker: a wrong answer already earns the lowest reward.
    """
    text = solution_str if isinstance(solution_str, str) else ""
    try:
        result = _verify(
            data_source,
            solution_str,
            _ground_truth(ground_truth),
            verifier,
            tuple(training_sources),
            dict(verifier_options or {}),
        )
        stats = redundancy.analyze(text, redundancy_method) if text else _NO_STATS
    except Exception as error:  # noqa: BLE001  (the contract: never raise inside training)
        result = VerifyResult(False, None, f"reward error: {type(error).__name__}: {error}")
        stats = _NO_STATS
    think = has_think_block(text, opened_by_prompt=think_opened_by_prompt)
    format_penalty = format_weight if result.correct and not think else 0.0
    redundancy_penalty = (
        redundancy.penalty(stats["score"], threshold=redundancy_threshold, weight=redundancy_weight)
        if result.correct
        else 0.0
    )
    base = correct_score if result.correct else incorrect_score
    return {
        "score": base - format_penalty - redundancy_penalty,
        "acc": float(result.correct),
        "pred": result.pred if result.pred is not None else "",
        "reason": result.reason,
        "has_think": float(think),
        "boxed": float(has_boxed(text)),
        "redundancy": stats["score"],
        "chunk_similarity": stats["chunk_similarity"],
        "format_penalty": format_penalty,
        "redundancy_penalty": redundancy_penalty,
    }
