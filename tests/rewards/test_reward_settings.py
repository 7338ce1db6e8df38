"""The reward spec (reward_kwargs) is checked by name, type and choice, in justrl-check and at the call."""

from __future__ import annotations

import inspect
import time

import pytest

from justrl.cli import check
from justrl.config import available_recipes, compose_recipe, recipe_kind
from reward_fns import redundancy, spec, terms, verify
from reward_fns.adapter import compute_score
from reward_fns.spec import RewardSettingError
from reward_fns.term_registry import TERMS

PREFIX = "reward.custom_reward_function.reward_kwargs."
THINK_BOXED = "<think>We factor (x-2)(x-3)=0 so x=2 or x=3.</think>\n\nThe answer is \\boxed{5}."


@pytest.mark.parametrize(
    ("override", "line"),
    [
        ("terms.redundancy.method=justtinkr", "terms.redundancy.method='justtinkr': expected one of default, justtinker (did you mean justtinker?)"),
        ("verifier=mathverify", "verifier='mathverify': expected one of dapo, dapo_strict_box, math_verify, hybrid, justtinker (did you mean math_verify?)"),
        ("training_sources=math_dapo", "training_sources='math_dapo': expected a list of data-source names, e.g. [math_dapo]"),
        ("terms.redundancy.threshold=1.5", "terms.redundancy.threshold=1.5: expected a finite number in [0.0, 1.0]"),
        ("terms.format.weight=-0.1", "terms.format.weight=-0.1: expected a finite number >= 0.0"),
        ("terms.format.think_check=true", "terms.format.think_check=True: expected one of closing_tag, single_block"),
        ("+" + PREFIX + "terms.overlong.buffer=10", "terms.overlong.buffer: unknown setting (did you mean " + PREFIX + "terms.overlong.buffer_len?)"),
        ("+" + PREFIX + "terms.overlng.weight=1", "terms.overlng: unknown term (did you mean " + PREFIX + "terms.overlong?)"),
        ("verifier_options.timeout_s=0", "verifier_options.timeout_s=0: expected a positive finite number"),
        ("+" + PREFIX + "verifer=hybrid", "verifer: unknown setting (did you mean " + PREFIX + "verifier?)"),
        ("+" + PREFIX + "format_weight=0.1", "format_weight: moved to " + PREFIX + "terms.format.weight"),
    ],
)
def test_check_rejects_bad_reward_setting(override, line, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    arg = override if override.startswith("+") else PREFIX + override
    assert check.main(["recipe=smoke_1gpu", arg]) == 1
    errors = [l for l in capsys.readouterr().out.splitlines() if l.startswith(f"error: {PREFIX}")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {PREFIX}{line}"), errors


@pytest.mark.parametrize("recipe", [r for r in available_recipes() if recipe_kind(r) == "rl"])
def test_every_rl_recipe_has_valid_reward_settings(recipe):
    kwargs = compose_recipe(recipe, []).reward.custom_reward_function.reward_kwargs
    assert spec.problems(kwargs) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"terms": {"redundancy": {"weight": 0.3, "method": "justtinkr"}}}, "terms.redundancy.method='justtinkr': expected one of default, justtinker"),
        ({"terms": {"format": {"think_check": "closing_tag"}}}, "terms.format={'think_check': 'closing_tag'}: expected a mapping with a weight"),
        ({"verifier": "mathverify"}, "verifier='mathverify': expected one of dapo, dapo_strict_box, math_verify, hybrid, justtinker"),
        ({"training_sources": "math_dapo"}, "training_sources='math_dapo': expected a list"),
        ({"correct_score": float("nan")}, "correct_score=nan: expected a finite number"),
        ({"terms": {"format": {"weight": 0, "think_opened_by_prompt": "yes"}}}, "terms.format.think_opened_by_prompt='yes': expected true or false"),
        ({"verifier_options": {"timeout": 5}}, "verifier_options.timeout: unknown setting (did you mean verifier_options.timeout_s?)"),
        ({"verifer": "hybrid"}, "verifer: unknown setting (did you mean verifier?)"),
        ({"redundancy_method": "justtinker"}, "redundancy_method: moved to terms.redundancy.method"),
        ({"think_check": "single_block"}, "think_check: moved to terms.format.think_check"),
    ],
)
def test_adapter_refuses_bad_settings_on_first_call(kwargs, message):
    with pytest.raises(RewardSettingError) as caught:
        compute_score("math_dapo", "\\boxed{5}", "5", None, **kwargs)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_adapter_accepts_verl_call_time_kwargs():
    result = compute_score("math_dapo", "\\boxed{5}", "5", None, reward_router_address=None, reward_model_tokenizer=None)
    assert result["score"] == 1.0


def test_options_are_the_term_functions_keywords():
    # Declared once: a term's options, their types and defaults are its function's signature.
    fmt = TERMS["format"].options
    assert (fmt["think_check"].default, fmt["think_opened_by_prompt"].default) == ("single_block", False)
    assert TERMS["overlong"].options["buffer_len"].kind is int
    assert sorted(TERMS["correctness"].options["verifier_options"].check) == sorted(
        {
            p.name
            for fn in verify.VERIFIERS.values()
            for p in inspect.signature(fn).parameters.values()
            if p.kind is p.KEYWORD_ONLY
        }
    )


def test_choices_come_from_the_registries(monkeypatch):
    monkeypatch.setitem(verify.VERIFIERS, "my_verifier", verify.dapo)
    monkeypatch.setattr(redundancy, "METHODS", (*redundancy.METHODS, "my_method"))
    kwargs = {"verifier": "my_verifier", "terms": {"redundancy": {"weight": 0.1, "method": "my_method"}}}
    assert spec.problems(kwargs) == []


def test_a_term_set_to_null_is_off():
    assert spec.build({"terms": {"format": {"weight": 0.1}, "overlong": None}}).terms[0].name == "format"
    assert [t.name for t in spec.build({"terms": {"format": None}}).terms] == []


def test_failing_term_keeps_a_correct_answer_correct(monkeypatch):
    def broken(*_args, **_kwargs):
        raise ValueError("measure failed")

    kwargs = {"incorrect_score": 0.0, "terms": {"format": {"weight": 0.1}, "redundancy": {"weight": 0.3}}}
    for name in ("has_think_block", "has_boxed"):
        with monkeypatch.context() as patch:
            patch.setattr(terms, name, broken)
            result = compute_score("math_dapo", THINK_BOXED, "5", **kwargs)
        assert (result["score"], result["acc"], result["format_penalty"], result["has_think"]) == (1.0, 1.0, 0.0, 0.0)
        assert result["reason"] == "boxed answer matches; format not measured: ValueError: measure failed"
    monkeypatch.setattr(redundancy, "analyze", broken)
    result = compute_score("math_dapo", THINK_BOXED, "5", **kwargs)
    assert (result["score"], result["acc"], result["redundancy_penalty"], result["redundancy"]) == (1.0, 1.0, 0.0, 0.0)


def test_oversized_response_is_rejected_before_any_measurement():
    huge = "Let me think again. " * 1_000_000 + "\\boxed{5}"  # 20 MB
    started = time.perf_counter()
    result = compute_score("math_dapo", huge, "5", terms={"redundancy": {"weight": 0.3, "method": "justtinker"}, "format": {"weight": 0}})
    elapsed = time.perf_counter() - started
    assert result["reason"].startswith("response too long")
    assert (result["boxed"], result["redundancy"]) == (0.0, 0.0)
    assert elapsed < 0.5


def test_check_refuses_a_token_term_under_a_manager_without_token_counts(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    on = PREFIX + "terms.overlong.weight=1.0"
    assert check.main(["recipe=smoke_1gpu", on, "reward.reward_manager.source=register", "reward.reward_manager.name=dapo"]) == 1
    errors = [l for l in capsys.readouterr().out.splitlines() if l.startswith(f"error: {PREFIX}")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {PREFIX}terms.overlong.weight=1.0: the term needs each response's length in tokens"), errors
    check.main(["recipe=smoke_1gpu", on])  # justrl's manager (the recipe's): no such line
    assert not [l for l in capsys.readouterr().out.splitlines() if l.startswith(f"error: {PREFIX}")]
