"""The one function veRL calls: ``reward.custom_reward_function`` points here (``pkg://`` path).

Everything it composes is a pure function chosen by ``reward_kwargs`` from the YAML config
group (``configs/reward/justrl.yaml`` or ``justtinker.yaml``), so a recipe's reward is fully
described by its config. No response or ground truth makes it raise: one exception here stops a
multi-week run, so any failure becomes the incorrect score with a reason in ``pred``-adjacent
diagnostics. Bad *settings* are the exception: they would grade every response of the run wrong,
so they raise a one-line ``RewardSettingError`` on the first call (``justrl-check`` reports them
before that, from the same table in ``reward_fns.settings``).
"""

from __future__ import annotations

from collections.abc import Sequence

from reward_fns import redundancy, settings
from reward_fns.format import has_boxed, has_think_block
from reward_fns.result import VerifyResult
from reward_fns.verify import MAX_RESPONSE_CHARS, VERIFIERS, dapo

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


def _measure(text: str, method: str, opened_by_prompt: bool) -> tuple[bool, bool, dict, str | None]:
    """Format and redundancy of a response, and why they could not be measured (None when they were).

    Kept apart from verification: a failure here must cost no reward, so a correct answer stays
    correct and simply gets no penalty.
    """
    try:
        stats = redundancy.analyze(text, method) if text else _NO_STATS
        return has_think_block(text, opened_by_prompt=opened_by_prompt), has_boxed(text), stats, None
    except Exception as error:  # noqa: BLE001  (the contract: never raise inside training)
        return False, False, _NO_STATS, f"format and redundancy not measured: {type(error).__name__}: {error}"


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
    **call_kwargs: object,
) -> dict:
    """Score one response.

    Training sources are graded as JustRL trains (DAPO strict box); every other data source
    (the benchmarks) with ``verifier`` (hybrid by default). Penalties apply to correct answers
    only, as in JustTinker: a wrong answer already earns the lowest reward.
    """
    options = dict(verifier_options or {})
    settings.require_valid(
        {
            "training_sources": training_sources,
            "verifier": verifier,
            "correct_score": correct_score,
            "incorrect_score": incorrect_score,
            "format_weight": format_weight,
            "redundancy_weight": redundancy_weight,
            "redundancy_threshold": redundancy_threshold,
            "redundancy_method": redundancy_method,
            "think_opened_by_prompt": think_opened_by_prompt,
            "verifier_options": options,
            **call_kwargs,
        }
    )
    text = solution_str if isinstance(solution_str, str) else ""
    try:
        result = _verify(
            data_source,
            solution_str,
            _ground_truth(ground_truth),
            verifier,
            tuple(training_sources),
            options,
        )
    except Exception as error:  # noqa: BLE001  (the contract: never raise inside training)
        result = VerifyResult(False, None, f"reward error: {type(error).__name__}: {error}")
    # A response the verifiers reject for its size is not measured either (seconds on 20 MB).
    measurable = text if len(text) <= options.get("max_response_chars", MAX_RESPONSE_CHARS) else ""
    think, boxed, stats, not_measured = _measure(measurable, redundancy_method, think_opened_by_prompt)
    format_penalty = format_weight if result.correct and not think and not_measured is None else 0.0
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
        "reason": result.reason if not_measured is None else f"{result.reason}; {not_measured}",
        "has_think": float(think),
        "boxed": float(boxed),
        "redundancy": stats["score"],
        "chunk_similarity": stats["chunk_similarity"],
        "format_penalty": format_penalty,
        "redundancy_penalty": redundancy_penalty,
    }
