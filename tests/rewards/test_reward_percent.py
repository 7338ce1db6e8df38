"""Percent answers are graded as upstream Math-Verify grades them, under the antlr4 4.9.3 runtime
that hydra-core pins (reward_fns.antlr_compat says why they were not)."""

from __future__ import annotations

import importlib.util
from importlib.metadata import version
from pathlib import Path

import pytest

from reward_fns.verify import math_verify

# (response, ground truth, upstream verdict). The verdicts are Math-Verify 0.9.0's with
# latex2sympy2_extended 1.11.0 on antlr4-python3-runtime 4.13.2 (the runtime its parser is built for,
# in a separate venv), making the same parse() and verify() calls as reward_fns.mathverify_worker.
UPSTREAM = [
    ("The answer is \\boxed{28\\%}", "28\\%", True),
    ("The answer is \\boxed{28\\%}", "28", True),
    ("The answer is \\boxed{28\\%}", "0.28", True),
    ("The answer is \\boxed{28\\%}", "28 percent", True),
    ("The answer is \\boxed{28\\%}", "28 \\%", True),
    ("The answer is \\boxed{28\\%}", "\\frac{28}{100}", True),
    ("The answer is \\boxed{28\\%}", "0.28\\%", False),
    ("The answer is \\boxed{28\\%}", "27", False),
    ("The answer is \\boxed{28\\%}", "2.8", False),
    ("\\boxed{28}", "28\\%", True),
    ("\\boxed{0.28}", "28\\%", True),
    ("28 percent", "28\\%", True),
    ("28 %", "28\\%", True),
    ("$28$ %", "28\\%", True),
    ("\\boxed{28 percent}", "28\\%", True),
    ("\\boxed{28\\%}", "28\\%", True),
    ("\\boxed{0.29}", "28\\%", False),
    ("\\boxed{2.8}", "28\\%", False),
    ("\\boxed{\\frac{7}{25}}", "28\\%", True),
    ("\\boxed{12.5\\%}", "\\frac{1}{8}", True),
    ("\\boxed{12.5\\%}", "12.5", False),
    ("\\boxed{50\\%}", "\\frac{1}{2}", True),
    ("\\boxed{50\\%}", "50", True),
]


@pytest.mark.parametrize(("response", "ground_truth", "upstream"), UPSTREAM)
def test_percent_answers_graded_as_upstream(response, ground_truth, upstream):
    assert math_verify(response, ground_truth).correct is upstream


def _atom_context(runtime: str) -> str:
    """The source of the generated parser's AtomContext class (read, not imported: the patch is applied)."""
    spec = importlib.util.find_spec("latex2sympy2_extended")
    source = (Path(spec.origin).parent / "gen" / runtime / "PSParser.py").read_text(encoding="utf-8")
    return source.split("class AtomContext(", 1)[1].split("\n    class ", 1)[0]


def test_the_compat_patch_is_still_needed():
    """Fails when latex2sympy2_extended regenerates its 4.9.3 parser (or antlr is no longer pinned):
    then drop reward_fns/antlr_compat.py."""
    assert version("antlr4-python3-runtime") == "4.9.3"
    assert "def PERCENT_NUMBER(self)" in _atom_context("antlr4_9_3")
    assert "def FUNC_GAMMA(self)" not in _atom_context("antlr4_9_3")
    assert "def FUNC_GAMMA(self)" in _atom_context("antlr4_13_2")
