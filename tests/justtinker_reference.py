"""JustTinker's reward, written from the rules of its trainer for the agreement test.

The rules are those of ``MathReasoningVerifier.verify`` in Guanghan/JustTinker
(``scripts/tinker/justrl_math_reasoning.py``), restated step by step, including its SymPy
parse through ``parse_expr``/``sympify`` -- that is, with ``eval``. It is only ever run on the
test's own generated corpus; ``reward_fns`` must never parse that way.
"""

from __future__ import annotations

import math
import re
import warnings
import zlib

UNIT_WORDS = (
    "centimeter centimeters cm millimeter millimeters mm meter meters m kilometer kilometers km "
    "inch inches ft feet foot yard yards mile miles kilogram kilograms kg gram grams g mg lb lbs oz "
    "ounce ounces liter liters ml gallon gallons second seconds sec minute minutes min hour hours hr "
    "day days dollar dollars cent cents euro euros square cubic sq cu"
).split()


def extract(text: str) -> str | None:
    positions = [m.start() for m in re.finditer(re.escape("\\boxed{"), text)]
    if positions:
        begin = positions[-1] + len("\\boxed{")
        level = 1
        i = begin
        while i < len(text) and level:
            level += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if level == 0:
            return text[begin : i - 1]
    for pattern in (r"[Tt]he (?:final )?answer is:?\s*([^\n\.]+)", r"####\s*([^\n]+)", r"[Aa]nswer:?\s*([^\n\.]+)"):
        found = re.search(pattern, text)
        if found:
            return found.group(1).strip()
    return None


def normalize(answer: str) -> str:
    if not answer:
        return ""
    a = answer.strip()
    for command in ("text", "mathrm", "textbf", "textit", "mathbf"):
        a = re.sub("\\\\" + command + r"\s*\{([^}]*)\}", r"\1", a)
    a = a.replace("\\$", "").replace("$", "").replace("\\%", "%")
    a = a.replace("^\\circ", "°").replace("^{\\circ}", "°").replace("\\circ", "°").replace("degrees", "°")
    a = a.replace(", ", ",").replace(" ", "")
    a = a.replace("\\frac", "frac").replace("\\dfrac", "frac").replace("\\tfrac", "frac")
    a = a.replace("\\pi", "π")
    a = re.sub(r"\\sqrt\{([^}]+)\}", r"√\1", a)
    a = re.sub(r"\\sqrt(\d)", r"√\1", a)
    pairs = [
        ("\\cdot", "*"), ("\\times", "*"), ("\\div", "/"), ("\\left", ""), ("\\right", ""),
        ("\\infty", "∞"), ("\\pm", "±"), ("\\mp", "∓"), ("\\leq", "≤"), ("\\le", "≤"), ("\\geq", "≥"),
        ("\\ge", "≥"), ("\\neq", "≠"), ("\\ne", "≠"), ("\\ldots", "..."), ("\\cdots", "..."),
        ("\\dots", "..."),
    ]  # fmt: skip
    for old, new in pairs:
        a = a.replace(old, new)
    a = re.sub(r"\^{(\d+)}", r"^\1", a)
    a = re.sub(r"\^{([a-z])}", r"^\1", a)
    a = a.lower()
    choice = re.match(r"^\(([a-e])\)$", a)
    if choice:
        a = choice.group(1)
    a = re.sub(r"(\d),(\d)", r"\1\2", a)
    for unit in UNIT_WORDS:
        a = re.sub(rf"(\d)\s*{unit}s?\b", r"\1", a, flags=re.IGNORECASE)
    words = {"million": "0" * 6, "billion": "0" * 9, "trillion": "0" * 12, "thousand": "000", "hundred": "00"}
    for word, zeros in words.items():
        found = re.search(rf"(\d+\.?\d*)\s*{word}", a, flags=re.IGNORECASE)
        if found:
            num = found.group(1)
            if "." in num:
                head, tail = num.split(".")[0], num.split(".")[1]
                replacement = head + tail + "0" * (len(zeros) - len(tail))
            else:
                replacement = num + zeros
            a = re.sub(rf"{num}\s*{word}", replacement, a, flags=re.IGNORECASE)
    return a


def _value(s: str) -> float | None:
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        pass
    m = re.match(r"^frac\{(-?\d+)\}\{(\d+)\}$", s)
    if m and int(m.group(2)) != 0:
        return int(m.group(1)) / int(m.group(2))
    m = re.match(r"^(-?\d+)/(\d+)$", s)
    if m and int(m.group(2)) != 0:
        return int(m.group(1)) / int(m.group(2))
    m = re.match(r"^(-?\d*\.?\d*)π$", s)
    if m:
        c = m.group(1)
        return (1.0 if c in ("", "+") else -1.0 if c == "-" else float(c)) * math.pi
    m = re.match(r"^√(\d+)$", s)
    if m:
        return math.sqrt(int(m.group(1)))
    m = re.match(r"^(-?\d+)√(\d+)$", s)
    if m:
        return int(m.group(1)) * math.sqrt(int(m.group(2)))
    return None


def numeric_equal(a: str, b: str) -> bool:
    x, y = _value(a), _value(b)
    return x is not None and y is not None and abs(x - y) < 1e-6


def _sympy(s: str):
    from sympy import sympify
    from sympy.parsing.sympy_parser import implicit_multiplication_application, parse_expr, standard_transformations

    s = re.sub(r"√\{?(\d+)\}?", r"sqrt(\1)", s)
    s = s.replace("π", "pi").replace("∞", "oo").replace("^", "**")
    s = re.sub(r"frac\{([^}]+)\}\{([^}]+)\}", r"(\1)/(\2)", s)
    s = re.sub(r"(\d)([a-z])", r"\1*\2", s)
    try:
        return parse_expr(s, transformations=standard_transformations + (implicit_multiplication_application,))
    except Exception:  # noqa: BLE001
        pass
    try:
        return sympify(s)
    except Exception:  # noqa: BLE001
        return None


def sympy_equal(a: str, b: str) -> bool:
    from sympy import N, simplify

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SyntaxWarning)
        x, y = _sympy(a), _sympy(b)
        if x is None or y is None:
            return False
        try:
            d = simplify(x - y)
            if d == 0:
                return True
            return abs(complex(N(d))) < 1e-6
        except Exception:  # noqa: BLE001
            return False


def redundancy(text: str) -> float:
    compression = 0.0
    if len(text) >= 100:
        data = text.encode("utf-8")
        compression = max(0, min(1, (0.7 - len(zlib.compress(data, level=9)) / len(data)) / 0.6))
    words = text.split()
    ngram = 0.0
    if len(words) >= 10:
        grams = [tuple(words[i : i + 5]) for i in range(len(words) - 4)]
        ngram = 1.0 - len(set(grams)) / len(grams)
    return 0.6 * compression + 0.4 * ngram


def reward(response: str, gold: str, format_weight: float = 0.1, weight: float = 0.3, threshold: float = 0.3) -> dict:
    """JustTinker's ``verify`` in reasoning mode (format and redundancy checks on), text only."""
    extracted = extract(response)
    thinking = "</think>" in response
    score = redundancy(response)
    penalty = 0.0 if score < threshold else (score - threshold) / (1.0 - threshold) * weight
    if extracted is None:
        return {"correct": False, "reward": 0.0, "extracted": None, "thinking": thinking}
    x, y = normalize(extracted), normalize(gold)
    correct = x == y or numeric_equal(x, y) or sympy_equal(x, y)
    value = 0.0
    if correct:
        value = max(0.0, (1.0 if thinking else 1.0 - format_weight) - penalty)
    return {"correct": correct, "reward": value, "extracted": extracted, "thinking": thinking}
