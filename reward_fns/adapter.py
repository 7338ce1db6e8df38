"""The one function veRL calls: ``reward.custom_reward_function`` points here (``pkg://`` path).

It builds the reward from the spec in ``reward_kwargs`` (``reward_fns.spec``: the config group
``configs/reward/justrl.yaml`` or ``justtinker.yaml``) and nothing else: the correctness score
plus ``weight * value`` of each listed term (``reward_fns.terms``), a correct answer never below
the incorrect score (JustTinker's floor). No response or ground truth makes it raise: one
exception here stops a multi-week run, so a failing term counts 0 and says why in ``reason``.
Bad *settings* are the exception: they would grade every response of the run wrong, so they raise
a one-line ``RewardSettingError`` on the first call (``justrl-check`` reports them before that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reward_fns.spec import BASE, build
from reward_fns.term_registry import TERMS, Response, TermValue
from reward_fns.verify import MAX_RESPONSE_CHARS

# Keyword arguments veRL's reward loop adds at call time (a reward-model router); not settings.
VERL_CALL_KWARGS = ("reward_router_address", "reward_model_tokenizer")
# The key under which each term's weighted contribution is reported (justrl.reward_log reads it).
TERM_KEY = "term/"
# The response's last characters (where its answer is), for the per-sample reward table.
EXCERPT_KEY = "response_tail"
EXCERPT_CHARS = 300


def _run(name: str, response: Response, ground_truth: object, options: Mapping) -> tuple[TermValue, str | None]:
    """A term's value, or 0 and why it could not be measured (a failure costs no reward)."""
    try:
        return TERMS[name].fn(response, ground_truth, **options), None
    except Exception as error:  # noqa: BLE001  (the contract: never raise inside training)
        return TermValue(0.0, TERMS[name].unmeasured), f"{name} not measured: {type(error).__name__}: {error}"


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def compute_score(
    data_source: object, solution_str: object, ground_truth: object, extra_info: dict | None = None, **reward_kwargs: object
) -> dict:
    """Score one response: ``score`` (the reward), each term's diagnostics and ``term/<name>``."""
    spec = build(reward_kwargs, ignore=VERL_CALL_KWARGS)
    text = solution_str if isinstance(solution_str, str) else ""
    # A response the verifiers reject for its size is not measured either (seconds on 20 MB).
    limit = spec.correctness["verifier_options"].get("max_response_chars", MAX_RESPONSE_CHARS)
    extra = extra_info if isinstance(extra_info, Mapping) else {}
    response = Response(
        solution=solution_str,
        text=text if len(text) <= limit else "",
        data_source=str(data_source),
        length=_int(extra.get("response_length")),
        max_length=_int(extra.get("max_response_length")),
    )
    base, failed = _run(BASE, response, ground_truth, spec.correctness)
    correct = bool(base.diagnostics.get("acc"))
    response = replace(response, correct=correct)
    info: dict = {"score": 0.0, **base.diagnostics, EXCERPT_KEY: text[-EXCERPT_CHARS:], f"{TERM_KEY}{BASE}": base.value}
    reasons = [str(info.get("reason", ""))] + ([failed] if failed else [])
    score = base.value
    for term in spec.terms:
        result, failed = _run(term.name, response, ground_truth, term.options)
        contribution = term.weight * result.value
        score += contribution
        info.update(result.diagnostics)
        info[f"{TERM_KEY}{term.name}"] = contribution
        info[f"{term.name}_penalty"] = -contribution
        reasons += [failed] if failed else []
    if correct:
        score = max(spec.correctness["incorrect_score"], score)
    info["score"] = score
    info["reason"] = "; ".join(r for r in reasons if r)
    return info
