"""Pre-parse guards: shapes of input known to make SymPy-based parsing slow or explosive.

They run in the caller before anything is sent to the math-verify helper process, because
killing and restarting that process (the hard deadline) costs about a second of imports,
while these checks cost microseconds. The deadline still catches what they miss.

They read only what will be parsed (``parsed_part``): reasoning is not parsed, and a correct answer
whose reasoning says ``(2^{10})^2`` must not be rejected for it.
"""

from __future__ import annotations

import re

from reward_fns.dapo_strings import last_boxed_only_string

MAX_BRACE_DEPTH = 12
# Without a \boxed{}, math-verify parses the rightmost math it finds first; the guards read this tail.
UNBOXED_TAIL_CHARS = 300
# An exponent with five or more digits (10^{12345}, 2**99999) makes SymPy build huge integers.
_HUGE_EXPONENT = re.compile(r"(?:\^|\*\*)\s*\{?\s*\(?\s*[-+]?\d{5,}")
# A numeric power tower (10^{10^{10}}, 9^9^9) explodes even with short exponents.
_TOWER = re.compile(r"\d\s*(?:\^|\*\*)\s*\{?\s*\(?\s*\d+\s*\}?\s*\)?\s*(?:\^|\*\*)")
# LaTeX that only spaces or groups (\, \left( ...) is dropped before the shape checks, so
# 9^{\,9^{9}} or 9^{\left(9^{9}\right)} is seen as the tower it is.
_LAYOUT = re.compile(r"\\(?:left|right|quad|qquad|[,;:! ])")
_PRODUCT = re.compile(r"\\(?:cdot|times)")
_CONSTANTS = re.compile(r"\\pi|\\mathrm\{e\}")
_BIG_FACTORIAL = re.compile(r"\d{2,}\s*!")
_FACTORIAL_OF_FACTORIAL = re.compile(r"!\s*[)\]}]+\s*!")
# (x+1)^{9999}: SymPy expands a power of a sum with thousands of terms. The regex finds the `)`
# and its power; `_polynomial_power` looks back for the letter, so the scan stays linear on long
# prose without parentheses (a leading `[A-Za-z][^()]*` is tried from every letter: quadratic).
_POWER_OF_GROUP = re.compile(r"\)\s*\^\s*\{?\s*\d{4,}")
_LETTER = re.compile(r"[A-Za-z]")
_OPEN = {"{": "}", "(": ")"}
# An exponent is read this far at most, so the scan stays linear on a tail of nested groups.
_MAX_EXPONENT_CHARS = 200


def parsed_part(response: str) -> str:
    """The part of ``response`` math-verify will parse: its last ``\\boxed{...}`` (math-verify
    normalises its boxed match to the last box), else the last ``UNBOXED_TAIL_CHARS`` characters,
    where it looks first. An unclosed last box is returned as the tail, for ``reject_reason`` to name.

    math-verify falls back to earlier math only when that answer does not parse; a bomb it reaches
    there is stopped by the deadline, not by the guards.
    """
    boxed = last_boxed_only_string(response)
    return boxed if boxed is not None else response[-UNBOXED_TAIL_CHARS:]


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


def _exponent(text: str, start: int) -> str:
    """The exponent that begins at ``start`` (just after ``^``): a balanced group or one token."""
    while start < len(text) and text[start].isspace():
        start += 1
    stop = min(len(text), start + _MAX_EXPONENT_CHARS)
    if start < len(text) and text[start] in _OPEN:
        depth, end = 0, start
        while end < stop:
            depth += {text[start]: 1, _OPEN[text[start]]: -1}.get(text[end], 0)
            end += 1
            if depth == 0:
                break
        return text[start:end]
    end = start
    while end < stop and (text[end].isalnum() or text[end] in "!."):
        end += 1
    return text[start:end]


def _numeric_tower(text: str) -> bool:
    """A power whose exponent, of numbers only, is itself a power or the factorial of a two-digit
    number (9^{9\\cdot 9^{9}}, e^{e^{e}}, 9^{99!}): SymPy evaluates it exactly. Exponents with a
    variable stay symbolic and are left alone."""
    for at in (i for i, char in enumerate(text) if char == "^"):
        exponent = _exponent(text, at + 1)
        numbers_only = not re.search(r"[A-Za-df-z\\]", _CONSTANTS.sub("", exponent))
        if numbers_only and ("^" in exponent or _BIG_FACTORIAL.search(exponent)):
            return True
    return False


def _polynomial_power(text: str) -> bool:
    """A `)` raised to a four-digit power whose group (back to the previous parenthesis) has a letter."""
    for match in _POWER_OF_GROUP.finditer(text):
        close = match.start()
        opened = max(text.rfind("(", 0, close), text.rfind(")", 0, close))
        if _LETTER.search(text, opened + 1, close):
            return True
    return False


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
    flat = _PRODUCT.sub("*", _LAYOUT.sub("", text)).replace("**", "^")
    if _HUGE_EXPONENT.search(flat) or _TOWER.search(flat) or _numeric_tower(flat):
        return f"{what}: huge exponent"
    if _FACTORIAL_OF_FACTORIAL.search(flat):
        return f"{what}: factorial of a factorial"
    if _polynomial_power(flat):
        return f"{what}: huge power of a polynomial"
    return None
