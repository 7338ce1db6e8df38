"""Make latex2sympy2_extended's LaTeX parser for the antlr4 4.9.3 runtime read percentages.

hydra-core (veRL's configuration) pins antlr4-python3-runtime to 4.9.3, so latex2sympy2_extended
(Math-Verify's LaTeX parser) loads the parser it generated for 4.9.3 instead of the one for 4.13.2.
In latex2sympy2_extended 1.11.0 that 4.9.3 parser is older than its grammar: its ``atom`` rule has no
gamma-function alternative, so ``AtomContext`` has no ``FUNC_GAMMA()``. The converter asks every atom
for ``FUNC_GAMMA()`` before ``PERCENT_NUMBER()``, so each ``28\\%`` raises AttributeError and Math-Verify
drops the answer: ``\\boxed{28\\%}`` against ``28`` or ``0.28`` is graded wrong where Math-Verify under
4.13.2 grades it right. That one method is the only difference between the two generated parsers.

The 4.9.3 grammar has no gamma alternative, so "not a gamma function" (None) is the exact answer for
every atom it parses; with it, percentages reach the same conversion as under 4.13.2, and Math-Verify
grades them as upstream does. Nothing is changed when the runtime is not 4.9.3 or when a newer
latex2sympy2_extended ships a regenerated parser (``tests/rewards/test_reward_percent.py`` then says to drop this).
"""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version


def _not_a_gamma_function(self: object) -> None:
    return None


@functools.cache  # once a process: the version look-up reads package metadata
def patch_latex_parser() -> None:
    """Give the 4.9.3 parser's ``AtomContext`` the ``FUNC_GAMMA()`` its converter asks for; idempotent."""
    try:
        if not version("antlr4-python3-runtime").startswith("4.9.3"):
            return
    except PackageNotFoundError:
        return
    from latex2sympy2_extended.gen.antlr4_9_3.PSParser import PSParser

    if not hasattr(PSParser.AtomContext, "FUNC_GAMMA"):
        PSParser.AtomContext.FUNC_GAMMA = _not_a_gamma_function
