"""The reward terms: the recipes' rewards unchanged to the bit, and DAPO's overlong term by hand."""

from __future__ import annotations

import json

import pytest

import reward_recorded as recorded
from reward_fns.adapter import compute_score
from reward_fns.term_registry import Response
from reward_fns.terms import overlong


@pytest.fixture(scope="module")
def cases(benchmarks_dir):
    return recorded.response_sets(benchmarks_dir)


@pytest.mark.parametrize("recipe", sorted(recorded.RECIPES))
def test_recipe_rewards_are_bit_identical_to_the_recorded_ones(cases, recipe):
    # Recorded with the hand-written compute_score before the spec and its terms replaced it.
    record = json.loads(recorded.RECORDED.read_text(encoding="utf-8"))
    assert recorded.digest(cases) == record["sha256"], "the response sets changed: re-record them"
    now = recorded.rewards(cases, recorded.recipe_kwargs(*recorded.RECIPES[recipe]))
    then = [tuple(row) for row in record[recipe]]
    # A grader fix may change a verdict (the grader tests judge that); the reward composition must
    # not change any reward. A broken correctness term would change many verdicts.
    same_verdict = [i for i, (new, old) in enumerate(zip(now, then)) if new[1] == old[1]]
    assert len(same_verdict) >= 0.99 * len(cases)
    differ = [(i, cases[i][1][-60:], now[i], then[i]) for i in same_verdict if now[i] != then[i]]
    assert not differ, (len(differ), differ[:3])
    assert len({reward for reward, _ in now}) >= (2 if recipe == "justrl" else 50)  # both verdicts, every penalty


def _length(tokens: int, cap: int = 20480) -> Response:
    return Response(solution="x", text="x", data_source="math_dapo", correct=True, length=tokens, max_length=cap)


@pytest.mark.parametrize(
    ("tokens", "value"),
    [
        # cap 20480, buffer 4096: free up to 16384 tokens, then -1/4096 a token, -1 at the cap.
        (100, 0.0),
        (16384, 0.0),
        (16385, -1 / 4096),
        (18432, -0.5),
        (20480, -1.0),
    ],
)
def test_overlong_matches_dapo_by_hand(tokens, value):
    assert overlong(_length(tokens), "5", buffer_len=4096).value == value


def _overlong_kwargs(weight: float) -> dict:
    return {"incorrect_score": -1.0, "terms": {"overlong": {"weight": weight, "buffer_len": 4}}}


@pytest.mark.parametrize(
    ("response", "tokens", "score", "overlong_term"),
    [
        # cap 16, buffer 4: free up to 12 tokens; each token past it costs weight / 4.
        ("\\boxed{5}", 12, 1.0, 0.0),
        ("\\boxed{5}", 14, 1.0 - 0.5 * 2 / 4, -0.25),
        ("\\boxed{5}", 16, 0.5, -0.5),
        ("\\boxed{4}", 15, -1.0 - 0.5 * 3 / 4, -0.375),  # DAPO punishes wrong answers too
    ],
)
def test_overlong_term_in_the_reward(response, tokens, score, overlong_term):
    extra = {"response_length": tokens, "max_response_length": 16}
    result = compute_score("math_dapo", response, "5", extra, **_overlong_kwargs(0.5))
    assert (result["score"], result["term/overlong"], result["overlong_tokens"]) == (score, overlong_term, max(tokens - 12, 0))


def test_overlong_without_token_counts_is_zero():
    result = compute_score("math_dapo", "\\boxed{5}", "5", None, **_overlong_kwargs(1.0))
    assert (result["score"], result["term/overlong"], result["overlong_tokens"]) == (1.0, 0.0, -1.0)
