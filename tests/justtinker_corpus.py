"""Generated responses around JustTinker's answer pairs: equivalent forms, near misses and the
response shapes models produce, shared by the JustTinker reward test and the recorded rewards."""

from __future__ import annotations

import random

# (ground truth, written answer): equivalent forms, near misses, JustTinker's normalisations.
PAIRS = [
    ("\\frac{3}{4}", "\\dfrac{3}{4}"), ("\\frac{1}{2}", "0.5"), ("x+1", "1+x"), ("\\frac12", "0.5"),
    ("2\\sqrt{3}", "\\sqrt{12}"), ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"), ("10", "10.0"),
    ("1000", "1,000"), ("5", "5 \\text{ cm}"), ("2\\pi", "6.2831853"), ("90", "90^\\circ"),
    ("5", "\\$5"), ("5", "5 dollars"), ("(a)", "A"), ("(C)", "\\text{(C)}"), ("1500000", "1.5 million"),
    ("3000", "3 thousand"), ("x^{2}", "x^2"), ("(x+1)^2", "x^2+2x+1"), ("(1,2)", "\\left(1, 2\\right)"),
    ("12", "13"), ("\\frac{3}{4}", "\\frac{4}{3}"), ("-\\pi", "-3.14159265"), ("4\\sqrt{2}", "\\sqrt{32}"),
    ("\\sqrt2", "\\sqrt{2}"), ("1024", "2^{10}"), ("120", "5!"), ("\\frac{1}{3}", "0.333333"),
    ("\\frac{1}{3}", "1/3"), ("50", "50\\%"), ("ab", "ba"), ("xy", "x y"), ("\\sin x", "\\sin(x)"),
    ("12", "3 \\times 4"), ("3", "6 \\div 2"), ("\\{1,2\\}", "\\{2,1\\}"), ("5", "x = 5"),
    ("7", "\\textbf{7}"), ("7", "\\mathrm{7}"), ("\\infty", "\\infty"), ("3\\pi", "3\\pi"),
    ("2", "2.0000001"), ("2", "2.001"), ("-2", "- 2"), ("\\frac{-1}{2}", "-0.5"), ("3\\sqrt{5}", "\\sqrt{45}"),
    ("\\sqrt{5}", "2.2360679"), ("\\frac{\\pi}{2}", "\\pi/2"), ("x^2-1", "(x-1)(x+1)"), ("2x", "x+x"),
    ("\\frac{9}{4}", "2.25"), ("204", "204"), ("6-5i", "6 - 5i"), ("[-2,7]", "[-2, 7]"), ("11\\sqrt2", "11\\sqrt{2}"),
    ("\\text{Evelyn}", "Evelyn"), ("0, 1", "0,1"), ("p - q", "-q + p"), ("\\tfrac{5}{8}", "0.625"),
    ("3 m+1", "3m + 1"), ("1/0", "1/0"), ("\\frac{7}{0}", "frac{7}{0}"), ("17 hundred", "1700"),
    ("25", "5^2"), ("\\frac{10}{4}", "\\frac{5}{2}"), ("\\sqrt{8}", "2\\sqrt2"), ("\\sqrt{\\frac{1}{4}}", "0.5"),
    ("\\$1,000", "1000"), ("2 \\cdot 3", "6"), ("y", "Y"), ("0.1+0.2", "0.3"), ("1e3", "1000"),
    ("45^{\\circ}", "45 degrees"), ("1.\\overline{3}", "4/3"), ("\\pm 2", "\\pm2"), ("x \\le 3", "x \\leq 3"),
]  # fmt: skip
# Answers JustTinker's eval runs as Python: builtins it calls, attributes it reads.
CODE_PAIRS = [
    ("2", "len('ab')"), ("3", "abs(-3)"), ("8", "pow(2,3)"), ("1", "'ab'.count('a')"),
    ("7", "int('7')"), ("2", "round(2.4)"), ("3", "sum((1,2))"), ("5", "max(2,5)"),
]  # fmt: skip
_WORDS = (
    "We compute the discriminant and check each case carefully. ",
    "Substituting back gives a consistent value, so we continue. ",
    "Wait, let me double-check the arithmetic: 12 * 7 = 84. ",
    "Hence the sum telescopes to a closed form. ",
    "Let x be the unknown; then 3x + 2 = 11 and x = 3. ",
)


def _pad(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(_WORDS) for _ in range(rng.randrange(0, longest)))


def _response(written: str, rng: random.Random) -> str:
    """One of the shapes models produce around an answer, with or without a thinking block."""
    pad, other = _pad(rng, 12), _pad(rng, 4)
    shape = rng.randrange(17)
    shapes = {
        0: f"<think>{pad}</think>\n\nThe answer is \\boxed{{{written}}}.",
        1: f"{pad}</think>\n\n\\boxed{{{written}}}",
        2: f"{pad}So \\boxed{{{written}}}",
        3: f"<think>{pad}</think>\\boxed{{{written}}} and then some closing words. {other}",
        4: f"{pad}The answer is {written}",
        5: f"<think>{pad}</think>\nThe final answer is: {written}\n{other}",
        6: f"{pad}#### {written}",
        7: f"{pad}Answer: {written}",
        8: f"{pad}First \\boxed{{0}} then \\boxed{{{written}",
        9: f"<think></think>\\boxed{{{written}}}",
        10: f"<think>a</think><think>b</think>{pad}\\boxed{{{written}}}",
        11: f"\\boxed{{{written}}}",
        12: f"{pad} I am not sure what the answer should be",
        13: rng.choice(_WORDS) * rng.randrange(5, 60) + f"\\boxed{{{written}}}",
        14: f"<think>{pad}\\boxed{{{written}}}",
        15: f"{pad}the answer is \\boxed{{\\frac{{{written}}}{{1}}}}",
        # Short repetitive texts either side of the compression term's 100-character floor.
        16: "=" * rng.randrange(70, 110) + f"\\boxed{{{written}}}",
    }
    return shapes[shape]


def corpus(pairs: list[tuple[str, str]], count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(_response(written, rng), gold) for gold, written in (rng.choice(pairs) for _ in range(count))]
