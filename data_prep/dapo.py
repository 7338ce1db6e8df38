"""DAPO-Math-17k -> dapo_math_17k/train.parquet in veRL's RL schema, streamed chunk by chunk.

The public file repeats each of its ~17k problems about 100 times (1.79M rows), so the builder
never holds the file: it reads fixed-size Arrow batches, strips DAPO's `Answer:` wrapper once per
distinct prompt, and writes each kept batch before reading the next.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from data_prep.benchmarks import load_registry
from data_prep.decontam import decontam_file
from data_prep.errors import PrepError
from data_prep.output import RL_SCHEMA, ParquetSink, Summary, rl_batch
from data_prep.sources import Source, column_values, open_source, require_text
from data_prep.text import strip_wrapper, with_suffix
from data_prep.tokens import user_prompt_lengths
from justrl_common.config import load_yaml
from justrl_common.progress import progress_bar, say

QUESTION = "prompt.0.content"
ANSWER = "reward_model.ground_truth"


def _optional(source: Source, path: str) -> bool:
    """True when an optional column exists; a present column of the wrong shape still stops the build."""
    if path.split(".")[0] not in source.schema.names:
        return False
    require_text(source.schema, path, source.label, allow_numbers=True)
    return True


class _DapoState:
    """Per-build memory, bounded by the number of distinct problems (not rows)."""

    def __init__(self, cfg: dict, suffix: str, tokenizer: Any, max_len: int, keep_duplicates: bool):
        self.cfg, self.suffix, self.tokenizer, self.max_len = cfg, suffix, tokenizer, max_len
        self.keep_duplicates = keep_duplicates
        self.bare: dict[str, str] = {}
        self.too_long: dict[str, bool] = {}
        self.first_seen: set[str] = set()
        self.unwrapped = 0
        self.integral_floats = 0

    def answer(self, raw: object) -> str:
        """The ground truth as text; an integral float (a numeric column's 2.0) becomes "2", since
        strict-box grading compares strings and `\\boxed{2}` could never match "2.0"."""
        if isinstance(raw, float) and raw.is_integer():
            self.integral_floats += 1
            return str(int(raw))
        return "" if raw is None else str(raw).strip()

    def problem(self, raw: str | None) -> str:
        if raw is None:
            return ""
        if raw not in self.bare:
            self.bare[raw] = strip_wrapper(raw, self.cfg["wrapper_prefix"], self.cfg["wrapper_suffix"])
            self.unwrapped += not raw.startswith(self.cfg["wrapper_prefix"])
        return self.bare[raw]

    def measure(self, problems: list[str]) -> None:
        """Tokenise (batched) the problems not measured yet; no-op without a tokenizer."""
        if self.tokenizer is None:
            return
        new = sorted({p for p in problems if p and p not in self.too_long})
        if not new:
            return
        lengths = user_prompt_lengths(self.tokenizer, [with_suffix(p, self.suffix) for p in new])
        self.too_long.update((p, n > self.max_len) for p, n in zip(new, lengths, strict=True))


def _process_batch(batch, base: int, state: _DapoState, summary: Summary, has: dict[str, bool]) -> dict | None:
    contents = column_values(batch, QUESTION)
    answers = column_values(batch, ANSWER)
    n = len(contents)
    styles = column_values(batch, "reward_model.style") if has["style"] else ["rule"] * n
    abilities = column_values(batch, "ability") if has["ability"] else ["MATH"] * n
    ids = column_values(batch, "extra_info.index") if has["index"] else [None] * n
    problems = [state.problem(c) for c in contents]
    state.measure(problems)
    seen = state.too_long if state.tokenizer is not None else None
    out = {k: [] for k in ("user", "gt", "style", "ability", "index", "source_id")}
    for i, problem in enumerate(problems):
        gt = state.answer(answers[i])
        if not problem:
            summary.drop("empty_problem")
            continue
        if not gt:
            summary.drop("missing_ground_truth")
            continue
        if seen is not None and seen[problem]:
            summary.drop("prompt_too_long")
            continue
        if problem in state.first_seen:
            if not state.keep_duplicates:
                summary.drop("duplicate_problem")
                continue
        else:
            state.first_seen.add(problem)
        out["user"].append(with_suffix(problem, state.suffix))
        out["gt"].append(gt)
        out["style"].append(styles[i] or "rule")
        out["ability"].append(abilities[i] or "MATH")
        out["index"].append(base + i)
        out["source_id"].append(str(ids[i]) if ids[i] is not None else str(base + i))
    return out if out["user"] else None


def build_dapo(
    out_dir: Path,
    source: str | None = None,
    keep_duplicates: bool = False,
    tokenizer: Any = None,
    eval_dir: Path | None = None,
    decontam: bool = True,
    batch_rows: int | None = None,
) -> Summary:
    """Write `out_dir/train.parquet` (+ train.summary.json, + train.decontam.json when benchmarks exist)."""
    cfg = load_yaml("data_prep.yaml")["dapo"]
    registry = load_registry()
    src = open_source(source or cfg["hub_id"], split=cfg["split"])
    require_text(src.schema, QUESTION, src.label)
    require_text(src.schema, ANSWER, src.label, allow_numbers=True)
    has = {
        "style": _optional(src, "reward_model.style"),
        "ability": _optional(src, "ability"),
        "index": _optional(src, "extra_info.index"),
    }
    columns = ["prompt", "reward_model"] + [c for c, k in (("ability", "ability"), ("extra_info", "index")) if has[k]]
    state = _DapoState(cfg, registry.prompt_suffix, tokenizer, cfg["max_prompt_length"], keep_duplicates)
    summary = Summary(builder="dapo", source=src.label)
    out_path = Path(out_dir) / "train.parquet"
    base = 0
    with ParquetSink(out_path, RL_SCHEMA) as sink, progress_bar(total=src.num_rows, unit="rows", desc="dapo") as bar:
        for batch in src.batches(batch_rows or cfg["batch_rows"], columns=columns):
            kept = _process_batch(batch, base, state, summary, has)
            if kept is not None:
                sink.write(
                    rl_batch(cfg["data_source"], kept["user"], kept["ability"], kept["gt"], kept["style"],
                             kept["index"], "train", kept["source_id"])
                )
            base += batch.num_rows
            bar.update(batch.num_rows)
        summary.rows_in, summary.rows_out = base, sink.rows
        if not sink.rows:
            raise PrepError(f"{summary.line()}; {out_path} was not written (any previous one is kept)")
    summary.outputs = [str(out_path)]
    summary.notes = {
        "distinct_problems": len(state.first_seen),
        "rows_without_dapo_wrapper": state.unwrapped,
        "integral_float_answers_as_integers": state.integral_floats,
        "keep_duplicates": keep_duplicates,
    }
    say(summary.line())
    if state.integral_floats:
        say(f"dapo: {state.integral_floats} ground truths were integral floats (2.0), written as integers (2)")
    summary.write(out_path.with_name("train.summary.json"))
    eval_dir = eval_dir if eval_dir is not None else Path(out_dir).parent / "benchmarks"
    if decontam and eval_dir.is_dir():
        # The written file, exactly as `justrl-prep decontam --train` reads it: one definition of
        # "training rows" (rows of train.parquet, duplicates included), one report.
        decontam_file(out_path, eval_dir)
    return summary
