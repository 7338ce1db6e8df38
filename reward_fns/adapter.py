"""The one function veRL calls: ``reward.custom_reward_function`` points here (``pkg://`` path).

Everything it composes is a pure function chosen by ``reward_kwargs`` from the YAML config
group (``configs/reward/justrl.yaml`` or ``justtinker.yaml``), so a recipe's reward is fully
described by its config. It never raises on data: one exception here stops a multi-week run, so
any failure becomes the incorrect score with a reason in ``pred``-adjacent diagnostics. A bad
option value is the exception: it raises at the first response, naming the value.
"""

from __future__ import annotations

from collections.abc import Sequence

from reward_fns import redundancy
from reward_fns.format import has_boxed, has_think_block, has_think_close
from reward_fns.result import VerifyResult
from reward_fns.verify import VERIFIERS

# How a response counts as thinking: JustTinker's closing-tag test, or the strict single block.
THINK_CHECKS = ("closing_tag", "single_block")
REDUNDANCY_METHODS = ("default", "justtinker")

# Redundancy diagnostics of a response with no text to measure (read only, never mutated).
_NO_STATS = dict.fromkeys(("compression", "ngram", "chunk_similarity", "score"), 0.0)


def _ground_truth(value: object) -> object:
    """Numbers become strings; a ground truth written as ``\\boxed{x}`` (AIME24 files) becomes x."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.startswith("\\boxed{") and value.endswith("}"):
        return value[len("\\boxed{") : -1]
    return value


def _choice(option: str, value: object, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(
            f"reward option {option}={value!r} is not one of {', '.join(choices)}; "
            f"set reward.custom_reward_function.reward_kwargs.{option} to one of them"
        )


def check_options(verifier: object, training_verifier: object, think_check: object, redundancy_method: object) -> None:
    """Raise one line naming a bad option value, what is accepted and where to set it.

    A bad option is a configuration error, not bad data: it must stop the run at the first
    response instead of silently scoring every response as incorrect.
    """
    _choice("verifier", verifier, tuple(VERIFIERS))
    _choice("training_verifier", training_verifier, tuple(VERIFIERS))
    _choice("think_check", think_check, THINK_CHECKS)
    _choice("redundancy_method", redundancy_method, REDUNDANCY_METHODS)


def _thinks(text: str, think_check: str, opened_by_prompt: bool) -> bool:
    if think_check == "closing_tag":
        return has_think_close(text)
    return has_think_block(text, opened_by_prompt=opened_by_prompt)


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
    **_: object,
) -> dict:
    """Score one response.

    Training sources are graded with ``training_verifier`` (JustRL: DAPO strict box), every
    other data source (the benchmarks) with ``verifier`` (hybrid by default). Penalties apply
    to correct answers only, as in JustTinker: a wrong answer already earns the lowest reward,
    and a correct one never scores below it. Bad data never raises; a bad option value does
    (``check_options``).
    """
    check_options(verifier, training_verifier, think_check, redundancy_method)
    text = solution_str if isinstance(solution_str, str) else ""
    grader = VERIFIERS[training_verifier if data_source in tuple(training_sources) else verifier]
    try:
        result = grader(solution_str, _ground_truth(ground_truth), **dict(verifier_options or {}))
        stats = redundancy.analyze(text, redundancy_method) if text else _NO_STATS
    except Exception as error:  # noqa: BLE001  (the contract: never raise inside training)
        result = VerifyResult(False, None, f"reward error: {type(error).__name__}: {error}")
        stats = _NO_STATS
    think = _thinks(text, think_check, think_opened_by_prompt)
    format_penalty = format_weight if result.correct and not think else 0.0
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
        "reason": result.reason,
        "has_think": float(think),
        "boxed": float(has_boxed(text)),
        "redundancy": stats["score"],
        "chunk_similarity": stats["chunk_similarity"],
        "format_penalty": format_penalty,
        "redundancy_penalty": redundancy_penalty,
    }
