"""Recorded rewards of the JustRL and JustTinker recipes on fixed response sets.

The reward spec and its terms replaced a hand-written ``compute_score``; the recipes must reward
every response exactly as before, to the last bit. ``tests/data/reward_recorded.json`` holds the
rewards the old adapter gave (``float.hex``) and its verdicts on the sets built here; run this
file as a script to re-record after an intended change of a recipe's reward. A verifier's verdict
may change with the graders (their own tests judge that); the rewards of every response whose
verdict did not change must not.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path

from omegaconf import OmegaConf

from reward_cases import dapo_cases
from justtinker_corpus import CODE_PAIRS, PAIRS, corpus

REPO = Path(__file__).resolve().parents[1]
RECORDED = Path(__file__).resolve().parent / "data" / "reward_recorded.json"
# Training source first (each recipe's training verifier), then benchmarks (its other verifier).
SOURCES = ("math_dapo", "AIME24", "MATH-500", "math_dapo")
LOOP = ("Wait, let me re-check the computation. ", "Let me try n = {i}: then n^2 + 1 is not divisible by 7. ")


def _loops(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Correct answers after reasoning that degenerates into loops of varying length (the redundancy term)."""
    cases = []
    for _ in range(count):
        head = "<think>We compute the discriminant and check each case. " * rng.randrange(1, 20)
        pattern = rng.choice(LOOP)
        tail = "".join(pattern.format(i=i if rng.random() < 0.5 else 3) for i in range(rng.randrange(0, 300)))
        close = rng.choice(("</think>\n\n", "", "</think>"))
        cases.append((f"{head}{tail}{close}The answer is \\boxed{{{rng.randrange(1, 50)}}}.", str(rng.randrange(1, 50))))
    return cases


def response_sets(benchmarks_dir: Path) -> list[tuple[str, str, str]]:
    """(data source, response, ground truth) triples: JustTinker's and DAPO's generated corpora and loops."""
    pairs = corpus(PAIRS, 600, seed=0) + corpus(CODE_PAIRS, 40, seed=1) + _loops(random.Random(2), 120)
    pairs += [(response, answer) for response, answer, _ in dapo_cases(benchmarks_dir, 400, seed=3)]
    return [(SOURCES[i % len(SOURCES)], response, gold) for i, (response, gold) in enumerate(pairs)]


def recipe_kwargs(*groups: str) -> dict:
    """A recipe's reward_kwargs as the reward config group files compose them."""
    layers = [OmegaConf.load(REPO / "configs" / "reward" / f"{name}.yaml") for name in groups]
    return OmegaConf.to_container(OmegaConf.merge(*layers).custom_reward_function.reward_kwargs)


RECIPES = {"justrl": ("justrl",), "justtinker": ("justrl", "justtinker")}


def digest(cases: list[tuple[str, str, str]]) -> str:
    return hashlib.sha256(json.dumps(cases).encode()).hexdigest()


def rewards(cases: list[tuple[str, str, str]], kwargs: dict) -> list[tuple[str, float]]:
    """Each case's reward as ``float.hex`` (exact) and its verdict (``acc``)."""
    from reward_fns.adapter import compute_score

    results = (compute_score(s, r, g, None, **kwargs) for s, r, g in cases)
    return [(float(result["score"]).hex(), float(result["acc"])) for result in results]


def main() -> int:
    from justrl_common import bundled

    cases = response_sets(bundled.benchmarks_dir())
    record = {"sha256": digest(cases), **{name: rewards(cases, recipe_kwargs(*groups)) for name, groups in RECIPES.items()}}
    RECORDED.write_text(json.dumps(record, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"recorded {len(cases)} rewards per recipe in {RECORDED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
