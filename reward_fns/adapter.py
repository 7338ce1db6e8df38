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
from reward_fns.format import has_boxed, has_think_block, has_think_close
from reward_fns.result import VerifyResult
from reward_fns.verify import MAX_RESPONSE_CHARS, VERIFIERS

# Redundancy diagnostics of a response with no text to measure (read only, never mutated).
_NO_STATS = dict.fromkeys(("compression", "ngram", "chunk_similarity", "score"), 0.0)


def _ground_truth(value: object) -> object:
    """Numbers become strings; a ground truth written as ``\\boxed{x}`` (AIME24 files) becomes x."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.startswith("\\boxed{") and value.endswith("}"):
        return value[len("\\boxed{") : -1]
    return value


def _thinks(text: str, think_check: str, opened_by_prompt: bool) -> bool:
    if think_check == "closing_tag":
        return has_think_close(text)
    return has_think_block(text, opened_by_prompt=opened_by_prompt)


def _measure(text: str, method: str, think_check: str, opened_by_prompt: bool) -> tuple[bool, bool, dict, str | None]:
    """Format and redundancy of a response, and why they could not be measured (None when they were).

    Kept apart from verification: a failure here must cost no reward, so a correct answer stays
    correct and simply gets no penalty.
    """
    try:
        stats = redundancy.analyze(text, method) if text else _NO_STATS
        return _thinks(text, think_check, opened_by_prompt), has_boxed(text), stats, None
    except Exception as error:  # noqa: BLE001  (the contract: never raise inside training)
        return False, False, _NO_STATS, f"format and redundancy not measured: {type(error).__name__}: {error}"


def compute_score(
    data_source: object,
    solution_str: object,
    ground_truth: object,
    extra_info: dict | None = None,
    *,
    verifier: str = "hybrid",
    training_verifier: str = "dapo_strict_box",
    training_sources: Sequence[str] = ("math_dapo",),
    correct_score: float = 1.0,
    incorrect_score: float = -1.0,
    format_weight: float = 0.0,
    redundancy_weight: float = 0.0,
    redundancy_threshold: float = 0.3,
    redundancy_method: str = "default",
    think_check: str = "single_block",
    think_opened_by_prompt: bool = False,
    verifier_options: dict | None = None,
    **call_kwargs: object,
) -> dict:
    """Score one response.

    Training sources are graded with ``training_verifier`` (JustRL: DAPO strict box), every
    other data source (the benchmarks) with ``verifier`` (hybrid by default). Penalties apply
    to correct answers only, as in JustTinker: a wrong answer already earns the lowest reward,
    and a correct one never scores below it.
    """
    options = dict(verifier_options or {})
    settings.require_valid(
        {
            "training_sources": training_sources,
            "verifier": verifier,
            "training_verifier": training_verifier,
            "correct_score": correct_score,
            "incorrect_score": incorrect_score,
            "format_weight": format_weight,
            "redundancy_weight": redundancy_weight,
            "redundancy_threshold": redundancy_threshold,
            "redundancy_method": redundancy_method,
            "think_check": think_check,
            "think_opened_by_prompt": think_opened_by_prompt,
            "verifier_options": options,
            **call_kwargs,
        }
    )
    text = solution_str if isinstance(solution_str, str) else ""
    grader = VERIFIERS[training_verifier if data_source in tuple(training_sources) else verifier]
    try:
        result = grader(solution_str, _ground_truth(ground_truth), **options)
    except Exception as error:  # noqa: BLE001  (the contract: never raise inside training)
        result = VerifyResult(False, None, f"reward error: {type(error).__name__}: {error}")
    # A response the verifiers reject for its size is not measured either (seconds on 20 MB).
    measurable = text if len(text) <= options.get("max_response_chars", MAX_RESPONSE_CHARS) else ""
    think, boxed, stats, not_measured = _measure(measurable, redundancy_method, think_check, think_opened_by_prompt)
    format_penalty = format_weight if result.correct and not think and not_measured is None else 0.0
    redundancy_penalty = (
        redundancy.penalty(stats["score"], threshold=redundancy_threshold, weight=redundancy_weight)
        if result.correct
        else 0.0
    )
    score = incorrect_score
    if result.correct:
        score = max(incorrect_score, correct_score - format_penalty - redundancy_penalty)
    return {
        "score": score,
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
