"""JustTinker's answer rules: extraction, normalisation and numeric equality, as pure functions.

These reproduce ``MathReasoningVerifier`` of the public JustTinker trainer
(``scripts/tinker/justrl_math_reasoning.py`` in Guanghan/JustTinker), so that the JustTinker
recipe grades an answer the way the write-up's runs were graded. The third step of its
comparison, SymPy equivalence, parses with Python's ``eval``; ours parses without it
(``reward_fns.safe_sympy``, run in the bounded helper process). ``sympy_text`` is the rewrite
JustTinker applies before that parse. Where JustTinker raises (a coefficient of ``.``, an integer
too large for a float), these return "not a number": inside training a reward never raises.
"""

from __future__ import annotations

import math
import re

_BOX = "\\boxed{"
# Without a complete last box, the first match of each, in this order.
_ANSWER_PATTERNS = (
    re.compile(r"[Tt]he (?:final )?answer is:?\s*([^\n\.]+)"),
    re.compile(r"####\s*([^\n]+)"),
    re.compile(r"[Aa]nswer:?\s*([^\n\.]+)"),
)
_WRAPPERS = tuple(
    re.compile(rf"\\{name}\s*\{{([^}}]*)\}}") for name in ("text", "mathrm", "textbf", "textit", "mathbf")
)
_BEFORE_SPACES = (
    ("\\$", ""),
    ("$", ""),
    ("\\%", "%"),
    ("^\\circ", "°"),
    ("^{\\circ}", "°"),
    ("\\circ", "°"),
    ("degrees", "°"),
    (", ", ","),
    (" ", ""),
    ("\\frac", "frac"),
    ("\\dfrac", "frac"),
    ("\\tfrac", "frac"),
    ("\\pi", "π"),
)
_SQRT_BRACED = re.compile(r"\\sqrt\{([^}]+)\}")
_SQRT_DIGIT = re.compile(r"\\sqrt(\d)")
_SYMBOLS = (
    ("\\cdot", "*"),
    ("\\times", "*"),
    ("\\div", "/"),
    ("\\left", ""),
    ("\\right", ""),
    ("\\infty", "∞"),
    ("\\pm", "±"),
    ("\\mp", "∓"),
    ("\\leq", "≤"),
    ("\\le", "≤"),
    ("\\geq", "≥"),
    ("\\ge", "≥"),
    ("\\neq", "≠"),
    ("\\ne", "≠"),
    ("\\ldots", "..."),
    ("\\cdots", "..."),
    ("\\dots", "..."),
)
_BRACED_NUMBER_POWER = re.compile(r"\^{(\d+)}")
_BRACED_LETTER_POWER = re.compile(r"\^{([a-z])}")
_CHOICE = re.compile(r"^\(([a-e])\)$")
_THOUSANDS = re.compile(r"(\d),(\d)")
# Order matters: each is stripped after a digit, with an optional plural "s".
UNITS = (
    "centimeter", "centimeters", "cm", "millimeter", "millimeters", "mm", "meter", "meters", "m",
    "kilometer", "kilometers", "km", "inch", "inches", "ft", "feet", "foot", "yard", "yards", "mile",
    "miles", "kilogram", "kilograms", "kg", "gram", "grams", "g", "mg", "lb", "lbs", "oz", "ounce",
    "ounces", "liter", "liters", "ml", "gallon", "gallons", "second", "seconds", "sec", "minute",
    "minutes", "min", "hour", "hours", "hr", "day", "days", "dollar", "dollars", "cent", "cents",
    "euro", "euros", "square", "cubic", "sq", "cu",
)  # fmt: skip
_UNIT_PATTERNS = tuple(re.compile(rf"(\d)\s*{unit}s?\b", re.IGNORECASE) for unit in UNITS)
_NUMBER_WORDS = (("million", 6), ("billion", 9), ("trillion", 12), ("thousand", 3), ("hundred", 2))

_FLOAT_FRACTION = re.compile(r"^frac\{(-?\d+)\}\{(\d+)\}$")
_SLASH_FRACTION = re.compile(r"^(-?\d+)/(\d+)$")
_PI_MULTIPLE = re.compile(r"^(-?\d*\.?\d*)π$")
_ROOT = re.compile(r"^√(\d+)$")
_ROOT_MULTIPLE = re.compile(r"^(-?\d+)√(\d+)$")
NUMERIC_TOLERANCE = 1e-6

_INTEGER = re.compile(r"-?[0-9]+")

_SYMPY_ROOT = re.compile(r"√\{?(\d+)\}?")
_SYMPY_FRACTION = re.compile(r"frac\{([^}]+)\}\{([^}]+)\}")
_SYMPY_IMPLICIT = re.compile(r"(\d)([a-z])")


def _last_box(text: str) -> str | None:
    """Content of the last ``\\boxed{`` when its braces close; None otherwise (no earlier box)."""
    start = text.rfind(_BOX)
    if start == -1:
        return None
    depth = 0
    for index in range(start + len(_BOX), len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            if depth == 0:
                return text[start + len(_BOX) : index]
            depth -= 1
    return None


def extract_answer(text: str) -> str | None:
    """The last complete box anywhere, else "the answer is ...", "#### ...", "Answer: ..."."""
    boxed = _last_box(text)
    if boxed is not None:
        return boxed
    for pattern in _ANSWER_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).strip()
    return None


def _expand_number_words(answer: str) -> str:
    """"1.5 million" -> "1500000"; JustTinker rewrites every occurrence of the first number it finds.

    The number found goes into the rewrite pattern unescaped (its ``.`` matches any character),
    as in JustTinker.
    """
    for word, zeros in _NUMBER_WORDS:
        match = re.search(rf"(\d+\.?\d*)\s*{word}", answer, flags=re.IGNORECASE)
        if not match:
            continue
        number = match.group(1)
        whole, _, decimals = number.partition(".")
        replacement = whole + decimals + "0" * (zeros - len(decimals))
        answer = re.sub(rf"{number}\s*{word}", replacement, answer, flags=re.IGNORECASE)
    return answer


def normalize(answer: str) -> str:
    """JustTinker's answer normal form (lower case, no spaces, ``frac``, ``π``, ``√``, no units)."""
    if not answer:
        return ""
    answer = answer.strip()
    for wrapper in _WRAPPERS:
        answer = wrapper.sub(r"\1", answer)
    for old, new in _BEFORE_SPACES:
        answer = answer.replace(old, new)
    answer = _SQRT_DIGIT.sub(r"√\1", _SQRT_BRACED.sub(r"√\1", answer))
    for old, new in _SYMBOLS:
        answer = answer.replace(old, new)
    answer = _BRACED_LETTER_POWER.sub(r"^\1", _BRACED_NUMBER_POWER.sub(r"^\1", answer)).lower()
    choice = _CHOICE.match(answer)
    if choice:
        answer = choice.group(1)
    answer = _THOUSANDS.sub(r"\1\2", answer)
    for unit in _UNIT_PATTERNS:
        answer = unit.sub(r"\1", answer)
    return _expand_number_words(answer)


def _numeric_value(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        pass
    for pattern in (_FLOAT_FRACTION, _SLASH_FRACTION):
        match = pattern.match(text)
        if match and int(match.group(2)) != 0:
            return int(match.group(1)) / int(match.group(2))
    match = _PI_MULTIPLE.match(text)
    if match:
        coefficient = {"": 1.0, "-": -1.0}.get(match.group(1))
        return (float(match.group(1)) if coefficient is None else coefficient) * math.pi
    match = _ROOT.match(text)
    if match:
        return math.sqrt(int(match.group(1)))
    match = _ROOT_MULTIPLE.match(text)
    if match:
        return int(match.group(1)) * math.sqrt(int(match.group(2)))
    return None


def numeric_value(text: str) -> float | None:
    """A float, a simple fraction, a multiple of π, or an integer root; None otherwise.

    Also None where JustTinker raises: a π coefficient such as ``.``, integers too long to
    convert or too large for a float.
    """
    if not text:
        return None
    try:
        return _numeric_value(text)
    except (ValueError, OverflowError):
        return None


def numeric_equal(a: str, b: str) -> bool:
    """Both sides have a numeric value and they agree within 1e-6."""
    value_a, value_b = numeric_value(a), numeric_value(b)
    return value_a is not None and value_b is not None and abs(value_a - value_b) < NUMERIC_TOLERANCE


def distinct_integers(a: str, b: str) -> bool:
    """Both normal forms are integers that ``numeric_equal`` told apart.

    SymPy cannot disagree: exact integers whose floats differ (or overflow) differ by at least
    1, so JustTinker's SymPy step says no. Skipping it saves the helper round trip for the
    commonest wrong answer, a wrong integer.
    """
    return bool(_INTEGER.fullmatch(a) and _INTEGER.fullmatch(b)) and not numeric_equal(a, b)


def sympy_text(normalized: str) -> str:
    """JustTinker's rewrite of a normal form into SymPy's input syntax (``√2`` -> ``sqrt(2)``)."""
    text = _SYMPY_ROOT.sub(r"sqrt(\1)", normalized)
    text = text.replace("π", "pi").replace("∞", "oo").replace("^", "**")
    return _SYMPY_IMPLICIT.sub(r"\1*\2", _SYMPY_FRACTION.sub(r"(\1)/(\2)", text))
