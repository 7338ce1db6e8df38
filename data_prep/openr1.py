"""OpenR1-Math-220k -> openr1_sft/{train,val}.parquet, the JustTinker cold-start SFT set.

A generation qualifies when math-verify marked it correct (the dataset's own
`correctness_math_verify`), its reasoning is complete, it holds exactly one well-formed
`<think>...</think>` at the start, a `\\boxed{}` answer follows the think block, and the whole
conversation fits the token budget under the backbone's chat template. One generation per problem
is kept so train and val never share a problem. Sampling is a seeded hash of the problem id, which
makes it deterministic and lets the builder keep only a bounded candidate pool while streaming.
"""

from __future__ import annotations

import hashlib
import heapq
from pathlib import Path
from typing import Any

import pyarrow as pa

from data_prep.benchmarks import load_registry
from data_prep.errors import PrepError
from data_prep.output import SFT_SCHEMA, OutputSet, Summary, sft_batch
from data_prep.sources import column_values, open_source, require_list_of, require_text
from data_prep.text import last_boxed, with_suffix
from data_prep.tokens import chat_lengths
from justrl_common.config import load_yaml
from justrl_common.progress import progress_bar, say

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def format_problem(generation: str) -> str | None:
    """Why a generation is unusable as a think-format target (None when it is usable)."""
    text = generation.strip()
    if text.count(THINK_OPEN) != 1 or text.count(THINK_CLOSE) != 1 or not text.startswith(THINK_OPEN):
        return "malformed_think"
    close = text.index(THINK_CLOSE)
    if not text[len(THINK_OPEN) : close].strip():
        return "malformed_think"
    if last_boxed(text[close + len(THINK_CLOSE) :]) is None:
        return "no_boxed_answer"
    return None


def generation_problem(generation: str | None, verified: bool | None, complete: bool | None) -> str | None:
    """The first failed filter for one generation, in the order the summary reports them."""
    if verified is not True:
        return "not_verified_correct"
    if complete is not True:
        return "reasoning_incomplete"
    return format_problem(generation or "")


def sample_key(seed: int, problem_id: str) -> int:
    """A seeded, platform-independent rank for a problem (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(f"{seed}\0{problem_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _aligned(values: list | None, length: int) -> list:
    """Per-generation flags padded with None, so a short flag list fails those generations."""
    values = list(values or [])
    return values[:length] + [None] * (length - len(values))


def _candidates(src, summary: Summary, seed: int, pool: int, batch_rows: int) -> list[tuple]:
    """Stream the source; keep the `pool` lowest-ranked problems with one qualifying generation each."""
    has_uuid = "uuid" in src.schema.names
    columns = ["problem", "generations", "correctness_math_verify", "is_reasoning_complete"] + (["uuid"] if has_uuid else [])
    heap: list[tuple] = []
    row = 0
    with progress_bar(total=src.num_rows, unit="problems", desc="openr1 filter") as bar:
        for batch in src.batches(batch_rows, columns=columns):
            values = {c: column_values(batch, c) for c in columns}
            for i, problem in enumerate(values["problem"]):
                gens = values["generations"][i] or []
                summary.rows_in += len(gens)
                problem = (problem or "").strip()
                if not problem:
                    summary.drop("empty_problem", len(gens))
                    continue
                verified = _aligned(values["correctness_math_verify"][i], len(gens))
                complete = _aligned(values["is_reasoning_complete"][i], len(gens))
                chosen = None
                for j, gen in enumerate(gens):
                    reason = generation_problem(gen, verified[j], complete[j])
                    if reason is None and chosen is not None:
                        reason = "other_generation_of_problem"
                    if reason is None:
                        chosen = j
                    else:
                        summary.drop(reason)
                if chosen is None:
                    continue
                problem_id = values["uuid"][i] if has_uuid and values["uuid"][i] else problem
                entry = (-sample_key(seed, problem_id), row + i, f"{problem_id}:{chosen}", problem, gens[chosen].strip())
                if len(heap) < pool:
                    heapq.heappush(heap, entry)
                else:
                    heapq.heappushpop(heap, entry)
                    summary.drop("not_sampled")
            row += batch.num_rows
            bar.update(batch.num_rows)
    return sorted(heap, reverse=True)


def _fit_budget(candidates: list[tuple], tokenizer: Any, suffix: str, max_tokens: int, need: int, summary: Summary) -> list[tuple]:
    """Walk candidates in rank order, tokenising in small batches, until `need` fit the budget."""
    accepted: list[tuple] = []
    processed, step = 0, 64
    with progress_bar(total=need, unit="samples", desc="openr1 token budget") as bar:
        while processed < len(candidates) and len(accepted) < need:
            chunk = candidates[processed : processed + step]
            processed += len(chunk)
            convs = [
                [{"role": "user", "content": with_suffix(c[3], suffix)}, {"role": "assistant", "content": c[4]}]
                for c in chunk
            ]
            for cand, length in zip(chunk, chat_lengths(tokenizer, convs, add_generation_prompt=False), strict=True):
                if length > max_tokens:
                    summary.drop("over_token_budget")
                elif len(accepted) < need:
                    accepted.append(cand)
                    bar.update(1)
                else:
                    summary.drop("not_sampled")
    summary.drop("not_sampled", len(candidates) - processed)
    return accepted


def build_openr1_sft(
    out_dir: Path,
    tokenizer: Any,
    source: str | None = None,
    n: int | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    val_size: int | None = None,
) -> Summary:
    """Write OUT/train.parquet (n rows) and OUT/val.parquet (val_size rows) in veRL's SFT schema."""
    cfg = load_yaml("data_prep.yaml")["openr1_sft"]
    n, max_tokens = n or cfg["n"], max_tokens or cfg["max_tokens"]
    seed = cfg["seed"] if seed is None else seed
    val_size = cfg["val_size"] if val_size is None else val_size
    if tokenizer is None:
        raise PrepError("openr1-sft needs --tokenizer: the token budget is measured under the backbone's chat template")
    if val_size < 0:
        raise PrepError(f"--val-size {val_size}: expected 0 or a positive integer")
    suffix = load_registry().prompt_suffix
    src = open_source(source or cfg["hub_id"], split=cfg["split"], config=cfg["config"])
    require_text(src.schema, "problem", src.label)
    require_list_of(src.schema, "generations", pa.string(), src.label)
    require_list_of(src.schema, "correctness_math_verify", pa.bool_(), src.label)
    require_list_of(src.schema, "is_reasoning_complete", pa.bool_(), src.label)
    summary = Summary(builder="openr1-sft", source=src.label)
    need = n + val_size
    candidates = _candidates(src, summary, seed, need * cfg["oversample"], cfg["batch_rows"])
    accepted = _fit_budget(candidates, tokenizer, suffix, max_tokens, need, summary)
    if not accepted:
        raise PrepError(f"{src.label}: no generation passed the filters ({summary.line()})")
    splits = {"train": accepted[:n], "val": accepted[n:]}
    out_dir = Path(out_dir)
    # Replaced as one set: a val.parquet of an earlier build would share problems with this train.
    with OutputSet(out_dir, [f"{split}.parquet" for split in splits]) as outputs:
        for split, rows in splits.items():
            if not rows:
                continue
            sink = outputs.sink(f"{split}.parquet", SFT_SCHEMA)
            offset = 0 if split == "train" else n
            sink.write(
                sft_batch(
                    [with_suffix(c[3], suffix) for c in rows],
                    [c[4] for c in rows],
                    list(range(offset, offset + len(rows))),
                    split,
                    [c[2] for c in rows],
                )
            )
            summary.outputs.append(str(sink.path))
    summary.rows_out = len(accepted)
    summary.notes = {
        "train_rows": len(splits["train"]),
        "val_rows": len(splits["val"]),
        "requested": {"n": n, "val_size": val_size, "max_tokens": max_tokens, "seed": seed},
        "shortfall": need - len(accepted),
    }
    say(summary.line())
    if summary.notes["shortfall"]:
        say(f"openr1-sft: warning: only {len(accepted)} of {need} requested samples qualified")
    summary.write(out_dir / "train.summary.json")
    return summary
