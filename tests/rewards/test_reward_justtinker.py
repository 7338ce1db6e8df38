"""The JustTinker recipe rewards what JustTinker's own trainer rewards.

``justtinker_reference`` restates ``MathReasoningVerifier.verify`` (Guanghan/JustTinker) rule by
rule, with its ``eval``-based SymPy parse; the adapter with the recipe's kwargs must give the
same reward, correctness, extracted answer and thinking verdict on every generated response,
except where JustTinker's ``eval`` runs Python (builtins, attribute access), which ours refuses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

import justtinker_reference as reference
from justtinker_corpus import CODE_PAIRS, PAIRS, corpus
from reward_fns import justtinker as rules
from reward_fns.adapter import compute_score
from reward_fns.format import has_think_close
from reward_fns.safe_sympy import NotEvaluated, equivalent, parse
from reward_fns.verify import justtinker

REPO = Path(__file__).resolve().parents[2]
N_RESPONSES = 1500

@pytest.fixture(scope="module")
def recipe_kwargs() -> dict:
    """The JustTinker recipe's reward kwargs, composed from the two YAML files."""
    layers = [OmegaConf.load(REPO / "configs" / "reward" / f"{name}.yaml") for name in ("justrl", "justtinker")]
    merged = OmegaConf.merge(*layers)
    return OmegaConf.to_container(merged.custom_reward_function.reward_kwargs)


def _ours(response: str, gold: str, kwargs: dict) -> tuple[bool, float, str | None, bool]:
    result = compute_score("math_dapo", response, gold, None, **kwargs)
    return bool(result["acc"]), result["score"], result["pred"] or None, bool(result["has_think"])


def _theirs(response: str, gold: str) -> tuple[bool, float, str | None, bool]:
    ref = reference.reward(response, gold)
    return ref["correct"], ref["reward"], ref["extracted"] or None, ref["thinking"]


def _graded(cases: list[tuple[str, str]], kwargs: dict) -> list[tuple[str, str, tuple, tuple]]:
    return [(response, gold, _ours(response, gold, kwargs), _theirs(response, gold)) for response, gold in cases]


def _differ(ours: tuple, theirs: tuple) -> bool:
    return ours[0] != theirs[0] or ours[1] != pytest.approx(theirs[1], abs=1e-12) or ours[2:] != theirs[2:]


@pytest.fixture(scope="module")
def graded(recipe_kwargs) -> list[tuple[str, str, tuple, tuple]]:
    return _graded(corpus(PAIRS, N_RESPONSES, seed=0), recipe_kwargs)


def test_recipe_agrees_with_justtinker_on_generated_corpus(graded):
    mismatches = [(r[-80:], gold, ours, theirs) for r, gold, ours, theirs in graded if _differ(ours, theirs)]
    assert not mismatches, (len(mismatches), mismatches[:5])


def test_corpus_exercises_every_verdict_and_both_penalties(graded):
    correct = [theirs for _, _, _, theirs in graded if theirs[0]]
    assert 0.2 * N_RESPONSES < len(correct) < 0.8 * N_RESPONSES
    assert {reward for _, reward, _, _ in correct} >= {1.0, 0.9}
    assert any(reward < 0.9 for _, reward, _, _ in correct), "no correct response lost reward to redundancy"
    assert any(theirs[2] is None for *_, theirs in graded) and any(not thinking for *_, thinking in correct)
    # Short repetitive texts on both sides of the 100-character floor, scored correct.
    short = [len(r) for r, _, _, theirs in graded if r.startswith("=") and theirs[0]]
    assert min(short) < 100 <= max(short)


def test_only_answers_that_eval_runs_as_python_disagree(recipe_kwargs):
    # JustTinker's eval calls len(), abs(), round(), str.count on the answer and finds them
    # equal to the ground truth (docs/justtinker_reward.md); ours does not run them. The other
    # code answers fail in JustTinker too (the thousands rule turns max(2,5) into max(25)).
    graded = _graded(corpus(CODE_PAIRS, 200, seed=1), recipe_kwargs)
    mismatches = [(response, ours, theirs) for response, _, ours, theirs in graded if _differ(ours, theirs)]
    assert all((ours[0], theirs[0]) == (False, True) for _, ours, theirs in mismatches)
    disagreeing = {written for _, written in CODE_PAIRS for response, _, _ in mismatches if written in response}
    assert disagreeing == {"len('ab')", "abs(-3)", "'ab'.count('a')", "round(2.4)"}
    for response, gold, ours, _ in graded:
        extracted = rules.extract_answer(response)
        if extracted is not None and rules.normalize(extracted) != rules.normalize(gold):
            assert not ours[0], response[-80:]


def test_power_towers_are_refused_where_justtinker_hangs():
    # The thousands rule turns "(10^{3}, 10^{4}, 10^{5})" into (10**310**410**5): JustTinker's
    # eval tries to compute it.
    result = justtinker("\\boxed{(10^{3}, 10^{4}, 10^{5})}", "(10^{4}, 10^{3}, 10^{5})")
    assert (result.correct, result.reason) == (False, "rejected before parsing: answer: huge exponent")


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("so \\boxed{1} and later \\boxed{\\frac{a}{b}} end", "\\frac{a}{b}"),
        ("\\boxed{1} then \\boxed{2", None),  # the last box is unclosed: no earlier box is used
        ("\\boxed{1} then \\boxed{2. The answer is 7", "7"),
        ("The final answer is: 3.5 exactly", "3"),  # the phrase stops at a period
        ("#### 42 apples\nmore", "42 apples"),
        ("Answer 9\nThe answer is 8", "8"),  # "the answer is" is tried first, first match wins
        ("nothing here", None),
    ],
)
def test_extraction(text, answer):
    assert rules.extract_answer(text) == answer == reference.extract(text)


@pytest.mark.parametrize(
    ("answer", "normal"),
    [
        ("\\dfrac{3}{4}", "frac{3}{4}"),
        ("\\text{5 cm}", "5"),
        ("1,234,567", "1234567"),
        ("1.5 Million", "1500000"),
        ("(B)", "b"),
        ("\\sqrt{2}\\pi", "√2π"),
        ("x^{2} + \\left(y\\right)", "x^2+(y)"),
        ("3m+1", "3+1"),  # JustTinker strips "m" after a digit as a unit
    ],
)
def test_normal_form(answer, normal):
    assert rules.normalize(answer) == normal == reference.normalize(answer)


@pytest.mark.parametrize(
    "text", ["", ".π", "-.π", "√" + "9" * 400, "9" * 5000 + "√2", "frac{1}{0}", "abc", "1" * 400 + "/3"]
)
def test_numeric_value_never_raises(text):
    # JustTinker raises on ".π" and on integers too long for int() or float(); ours says "no number".
    assert rules.numeric_value(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("(3)/(4)", "3/4"), ("2*sqrt(3)", "2*sqrt(3)"), ("5!", "120"), ("xy", "x*y"), ("theta", "theta"), ("2j", "2*I")],
)
def test_safe_parse_builds_what_parse_expr_builds(text, expected):
    import sympy
    from sympy.parsing.sympy_parser import implicit_multiplication_application, parse_expr, standard_transformations

    transformations = standard_transformations + (implicit_multiplication_application,)
    assert parse(text) == sympy.sympify(expected) == parse_expr(text, transformations=transformations)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').getcwd()", "len('ab')", "lambda: 1", "x.real", "(1).bit_length()", "re", "var('x')",
        "sympify('1')",
    ],  # fmt: skip
)
def test_safe_parse_refuses_anything_eval_would_run(text):
    with pytest.raises(NotEvaluated):
        parse(text)
    assert equivalent(text, text)[0] is False


def test_verifier_reasons_name_the_step():
    assert justtinker("\\boxed{\\dfrac{3}{4}}", "\\frac{3}{4}").reason == "normal forms equal"
    assert justtinker("\\boxed{0.75}", "\\frac{3}{4}").reason == "numerically equal"
    assert justtinker("\\boxed{1+x}", "x+1").reason == "SymPy-equivalent"
    assert justtinker("\\boxed{13}", "12").reason == "different integers"
    assert justtinker("\\boxed{len('ab')}", "2").reason.startswith("not evaluated")
    assert justtinker("no answer", "2").pred is None


def test_closing_tag_is_the_thinking_check():
    assert has_think_close("reasoning</think>\\boxed{1}")
    assert has_think_close("<think>a</think><think>b</think>")
    assert not has_think_close("<think>unfinished") and not has_think_close(None)
