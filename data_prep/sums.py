"""`justrl-prep sums`: a real task for a small instruct model, in JustTinker's chat format.

Writes, under OUT:
- train.parquet, val.parquet: three-term sums of two-digit numbers, veRL's RL schema, JustRL's
  boxed suffix on every prompt;
- benchmarks/SumThree.parquet: the held-out test split, the benchmark justrl-eval reads with
  data_dir=OUT (no problem of it is in train or val);
- sft/train.parquet, sft/val.parquet: the cold start, two- and four-term sums (never three) answered
  in JustTinker's target format, a think block then the box, the think block a running total.
The splits come from one shuffled draw without repeats, so they share no problem.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from data_prep.errors import PrepError
from data_prep.output import write_generated_rl, write_generated_sft, write_json
from justrl_common.config import load_yaml
from justrl_common.progress import say

Problem = tuple[int, ...]


def question(terms: Problem) -> str:
    return f"What is {' + '.join(map(str, terms))}?"


def worked_answer(terms: Problem) -> str:
    """The cold start's target: a running total in the think block, then the box."""
    steps = [f"Start with {terms[0]}."]
    total = terms[0]
    for term in terms[1:]:
        total += term
        steps.append(f"Add {term}: {total}.")
    return f"<think>{' '.join(steps)}</think>\n\n\\boxed{{{total}}}"


def draw(count: int, terms: int, low: int, high: int, rng: random.Random, exclude: set[Problem],
         prefix_excluded: int = 0) -> list[Problem]:
    """`count` distinct problems of `terms` operands in [low, high], none in `exclude`, nor (with
    `prefix_excluded` = k) any whose first k operands are in `exclude`."""
    if count > (high - low + 1) ** terms - len(exclude):
        raise PrepError(f"only {(high - low + 1) ** terms} problems of {terms} terms exist; asked for {count}: lower the split sizes in configs/data_prep.yaml")
    found: list[Problem] = []
    seen = set(exclude)
    while len(found) < count:
        problem = tuple(rng.randint(low, high) for _ in range(terms))
        if problem not in seen and problem[:prefix_excluded] not in exclude:
            seen.add(problem)
            found.append(problem)
    return found


def build_sums(out: Path, seed: int | None = None) -> dict[str, Any]:
    s = load_yaml("data_prep.yaml")["sums"]
    suffix = load_yaml("benchmarks.yaml")["prompt_suffix"]
    seed = s["seed"] if seed is None else seed
    rng = random.Random(seed)
    low, high = s["operand_min"], s["operand_max"]
    rl = draw(s["train"] + s["val"] + s["test"], s["terms"], low, high, rng, set())
    train, val, test = rl[: s["train"]], rl[s["train"] : s["train"] + s["val"]], rl[s["train"] + s["val"] :]
    # Each term count of the cold start gets an equal share of its rows. No cold-start problem
    # starts with an RL problem or is the start of one, so SFT never shows part of an RL answer.
    sft: list[Problem] = []
    counts, total = s["sft_terms"], s["sft_train"] + s["sft_val"]
    for i, terms in enumerate(counts):
        share = total // len(counts) + (i < total % len(counts))
        if terms < s["terms"]:
            sft += draw(share, terms, low, high, rng, {p[:terms] for p in rl})
        else:
            sft += draw(share, terms, low, high, rng, set(rl), prefix_excluded=s["terms"])
    rng.shuffle(sft)
    out.mkdir(parents=True, exist_ok=True)
    for path, rows, split, source in (
        (out / "train.parquet", train, "train", s["data_source"]),
        (out / "val.parquet", val, "val", s["data_source"]),
        (out / "benchmarks" / f"{s['benchmark']}.parquet", test, "test", s["benchmark"]),
    ):
        write_generated_rl(path, [question(p) + suffix for p in rows], [str(sum(p)) for p in rows], split, source)
    for path, rows, split in ((out / "sft" / "train.parquet", sft[: s["sft_train"]], "train"),
                              (out / "sft" / "val.parquet", sft[s["sft_train"] :], "val")):
        write_generated_sft(path, [question(p) + suffix for p in rows], [worked_answer(p) for p in rows], split, "sum_cold_start")
    summary = {"train": len(train), "val": len(val), "test": len(test), "sft_train": s["sft_train"],
               "sft_val": s["sft_val"], "sft_terms": counts, "seed": seed, "example": {"question": question(train[0]), "sft_answer": worked_answer(sft[0])}}
    write_json(out / "summary.json", summary)
    say(f"justrl-prep sums: {len(train)} train / {len(val)} val / {len(test)} held-out three-term sums, "
        f"{s['sft_train']} + {s['sft_val']} cold-start rows ({' and '.join(map(str, counts))} terms) in {out}")
    return summary
