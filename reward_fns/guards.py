"""Pre-parse guards: shapes of input known to make SymPy-based parsing slow or explosive.

They run in the caller before anything is sent to the math-verify helper process, because
killing and restarting that process (the hard deadline) costs about a second of imports,
while these checks cost microseconds. The deadline still catches what they miss.
"""

from __future__ import annotations

import re

from verl.utils.reward_score.math_dapo import last_boxed_only_string

MAX_BRACE_DEPTH = 12
# An exponent with five or more digits (10^{12345}, 2**99999) makes SymPy build huge integers.
_HUGE_EXPONENT = re.compile(r"(?:\^|\*\*)\s*\{?\s*\(?\s*[-+]?\d{5,}")
# A numeric power tower (10^{10^{10}}, 9^9^9) explodes even with short exponents.
_TOWER = re.compile(r"\d\s*(?:\^|\*\*)\s*\{?\s*\(?\s*\d+\s*\}?\s*\)?\s*(?:\^|\*\*)")


def brace_depth(text: str) -> tuple[int, bool]:
    """Deepest ``{`` nesting, and whether every brace is matched.

    A stray ``}`` resets the depth instead of failing: a response tail may start inside a group.
    """
    depth = deepest = 0
    balanced = True
    for char in text:
        if char == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif char == "}":
            depth -= 1
            if depth < 0:
                depth, balanced = 0, False
    return deepest, balanced and depth == 0


def reject_reason(text: str, what: str, *, require_balanced: bool = False) -> str | None:
    """Why ``text`` should not be parsed at all, or None when it is safe to try.

    ``require_balanced`` is for whole strings (ground truths); response tails are cut anywhere.
    """
    if "\\boxed" in text and last_boxed_only_string(text) is None:
        return f"{what}: unbalanced braces in the last \\boxed{{}}"
    depth, balanced = brace_depth(text)
    if require_balanced and not balanced:
        return f"{what}: unbalanced braces"
    if depth > MAX_BRACE_DEPTH:
        return f"{what}: braces nested {depth} deep (at most {MAX_BRACE_DEPTH})"
    if _HUGE_EXPONENT.search(text) or _TOWER.search(text):
        return f"{what}: huge exponent"
    return None
