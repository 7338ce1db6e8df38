"""Generated DAPO verifier cases shared by the reward tests.

Answers come from the real benchmark ground truths; responses wrap them (or near-misses) in the
shapes models actually produce: ``Answer:`` lines, boxes at various distances from the end,
several boxes, unclosed boxes, units and dollar signs, long reasoning padding.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

_FILLER = (
    "We compute the discriminant and check each case carefully. ",
    "Substituting back gives a consistent value, so we continue. ",
    "Wait, let me double-check the arithmetic: 12 * 7 = 84. ",
    "Hence the sum telescopes to a closed form. ",
)


def benchmark_answers(benchmarks_dir: Path) -> list[str]:
    """Every ground truth of the nine shipped benchmarks, box wrappers stripped."""
    answers = []
    for path in sorted(benchmarks_dir.glob("*/test.parquet")):
        frame = pd.read_parquet(path)
        column = frame["answer"] if "answer" in frame else frame["reward_model"].map(lambda r: r["ground_truth"])
        for value in column.astype(str):
            answers.append(value[7:-1] if value.startswith("\\boxed{") and value.endswith("}") else value)
    return answers


def _variant(answer: str, rng: random.Random) -> str:
    """The answer itself, or a near miss that some normalisation might (or might not) forgive."""
    choice = rng.randrange(9)
    if choice == 0:
        return f"${answer}$"
    if choice == 1:
        return f"{answer} \\text{{ units}}"
    if choice == 2:
        return f"x = {answer}"
    if choice == 3:
        return answer + "0"
    if choice == 4:
        return f" {answer} "
    if choice == 5:
        return answer.replace(" ", "")
    return answer


def _response(answer: str, rng: random.Random) -> str:
    pad = "".join(rng.choice(_FILLER) for _ in range(rng.randrange(0, 12)))
    shape = rng.randrange(10)
    said = _variant(answer, rng)
    if shape == 0:
        return f"{pad}Answer: {said}"
    if shape == 1:
        return f"{pad}answer :{said}\nThat is all."
    if shape == 2:
        return f"{pad}The answer is \\boxed{{{said}}}."
    if shape == 3:
        return f"{pad}First \\boxed{{{said}}}, then {pad[:150]} finally \\boxed{{{_variant(answer, rng)}}}"
    if shape == 4:
        return f"{pad}\\boxed{{{said}}} and then some closing words " + "." * rng.randrange(0, 150)
    if shape == 5:
        return f"{pad}Answer: {said}\nSo \\boxed{{{answer}}}"
    if shape == 6:
        return f"{pad}\\boxed{{{said}"
    if shape == 7:
        return f"{pad}Final: \\boxed{{\\frac{{{said}}}{{1}}}}"
    if shape == 8:
        return f"{pad}no final answer here"
    return f"{pad}\\boxed{{{said}}}\n\nAnswer: {_variant(answer, rng)}"


def dapo_cases(benchmarks_dir: Path, count: int, seed: int = 0) -> list[tuple[str, str, bool]]:
    """``count`` (response, ground truth, strict_box) triples, half of them strict."""
    rng = random.Random(seed)
    answers = benchmark_answers(benchmarks_dir)
    return [(_response(answer := rng.choice(answers), rng), answer, i % 2 == 0) for i in range(count)]
