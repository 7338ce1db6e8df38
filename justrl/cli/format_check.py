"""`justrl-format-check model=PATH data=FILE [n=4] [limit=200]`: sample responses with the
evaluation engine (vLLM on GPU, or engine.kind=transformers) and report the thinking and boxed
rates; `justrl-format-check responses=FILE.jsonl` only scores, on CPU.

Sampling goes through justrl-eval's resumable loop, so a preempted check resumes and a rerun
with another model or sampling into the same out= is refused.
"""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from justrl.cli.eval import _check_engine, _model_id, _sampling, _with_adapter, build_engine, load_config, load_tokenizer, run_command
from justrl.eval.benchmarks import EvalInputError, EvalItem
from justrl.eval.generate import BenchmarkJob, make_manifest, render_prompts, run_benchmarks, write_manifest
from justrl.eval.records import read_records

if TYPE_CHECKING:
    from justrl.sft.format_rates import FormatRates

COMMAND = "justrl-format-check"
NAME = "format_check"


def load_prompts(path: Path, limit: int | None) -> list[EvalItem]:
    """Prompts from veRL's RL schema (`prompt`) or the SFT schema (`messages`, up to the last user turn)."""
    import pyarrow.parquet as pq

    if not path.is_file():
        raise EvalInputError(f"data={path}: file not found; expected a parquet written by justrl-prep")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises OSError or ArrowInvalid for an unreadable or corrupt file
        raise EvalInputError(f"data={path}: cannot be read ({' '.join(str(exc).split())}); expected a parquet written by justrl-prep") from None
    if limit is not None:
        table = table.slice(0, limit)
    rows = table.to_pylist()
    items = []
    for i, row in enumerate(rows):
        if isinstance(row.get("prompt"), list):
            messages = row["prompt"]
        elif isinstance(row.get("messages"), list):
            users = [j for j, m in enumerate(row["messages"]) if m.get("role") == "user"]
            messages = row["messages"][: users[-1] + 1] if users else []
        else:
            raise EvalInputError(f"data={path}: expected a 'prompt' or 'messages' column of chat messages, found {', '.join(table.column_names)}")
        if not messages:
            raise EvalInputError(f"data={path} row {i}: no user turn to prompt with")
        truth = (row.get("reward_model") or {}).get("ground_truth", "")
        items.append(EvalItem(index=i, messages=tuple({"role": m["role"], "content": m["content"]} for m in messages), ground_truth=str(truth)))
    return items


def sample(cfg: DictConfig) -> Path:
    """Generate n responses for each prompt into out/responses.jsonl; returns that file."""
    if cfg.n < 1:
        raise EvalInputError(f"n={cfg.n}; expected a positive integer")
    _check_engine(cfg.engine.kind)
    model = _model_id(str(cfg.model))
    items = load_prompts(Path(cfg.data), cfg.limit)
    out = Path(cfg.out or Path(cfg.results_dir) / NAME / Path(model.rstrip("/")).name)
    sampling = _sampling(cfg)
    model, label = _with_adapter(model, cfg.adapter, out)
    tokenizer = load_tokenizer(model)
    write_manifest(out, make_manifest(label, None, sampling, {NAME: cfg.n}))
    job = BenchmarkJob(NAME, items, render_prompts(tokenizer, items), cfg.n, out / "responses.jsonl")
    engine = build_engine(cfg, model)
    try:
        run_benchmarks(engine, [job], sampling, cfg.engine.shard_sequences, progress=cfg.progress)
    finally:
        engine.close()
    return job.path


def score(path: Path, opened_by_prompt: bool) -> FormatRates:
    # Imported here: the format checks pull in veRL's reward scorers, seconds `--help` should not wait for.
    from justrl.sft.format_rates import score_records

    if not path.is_file():
        raise EvalInputError(f"responses={path}: file not found")
    result = read_records(path)
    if not result.records:
        first = f"; {result.first_problem}" if result.first_problem else ""
        raise EvalInputError(
            f"responses={path}: no valid records (expected JSONL lines with 'index', 'ground_truth' and a "
            f"'responses' list, README \"Evaluation output\"){first}"
        )
    rates = score_records(result.records, opened_by_prompt=opened_by_prompt)
    path.with_name(path.stem + ".format_rates.json").write_text(json.dumps(rates.as_dict(), indent=2) + "\n", encoding="utf-8")
    return rates


def run(cfg: DictConfig) -> FormatRates:
    from justrl.sft.format_rates import render_rates

    if cfg.responses:
        path = Path(cfg.responses)
    elif cfg.model and cfg.data:
        path = sample(cfg)
    else:
        raise EvalInputError("pass model=PATH data=FILE to sample and score, or responses=FILE.jsonl to score only")
    rates = score(path, cfg.opened_by_prompt)
    for line in render_rates(rates):
        print(f"{COMMAND}: {line}" if not line.startswith(" ") else line)
    return rates


def main(argv: list[str] | None = None) -> int:
    # configs/eval/format_check.yaml extends justrl-eval's defaults (engine, sampling).
    return run_command(COMMAND, run, partial(load_config, config_name=NAME), argv)


if __name__ == "__main__":
    sys.exit(main())
