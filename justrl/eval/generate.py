"""The resumable generation loop: shards of prompts go to the engine, finished shards to disk.

Up to `engine.concurrency` shards are in flight (one per model replica); each finished shard
is appended to its benchmark's JSONL at once, so a crash or preemption loses only the shards in
flight, and a rerun asks the engine only for problems without a record.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from justrl.eval.benchmarks import EvalItem
from justrl.eval.engine import Completion, GenerationEngine, SamplingSpec
from justrl.atomic import write_text_atomic
from justrl.eval.records import ResumeMismatch, append_records, make_record, open_for_resume
from justrl.loop_control import save_requested
from justrl_common.progress import progress_bar, say

MANIFEST = "run.json"


def render_prompts(tokenizer: Any, items: Sequence[EvalItem]) -> list[str]:
    """Apply the model's own chat template, generation prompt included (e.g. R1's `<think>`)."""
    return [
        tokenizer.apply_chat_template(list(item.messages), tokenize=False, add_generation_prompt=True)
        for item in items
    ]


def prompts_per_shard(shard_sequences: int, n: int) -> int:
    """Prompts per shard so a shard holds about `shard_sequences` sequences (n per prompt)."""
    return max(1, shard_sequences // n)


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Record model and sampling of the run; a rerun with other settings is refused.

    Mixing samples of two models or two temperatures in one directory would produce a table
    that describes neither, so only the benchmark list may grow between reruns.
    """
    path = out / MANIFEST
    if path.exists():
        old = read_manifest(out)
        for key in ("model", "sampling"):
            if old.get(key) != manifest.get(key):
                raise ResumeMismatch(
                    f"{out} holds a run with {key}={old.get(key)!r}, not {manifest.get(key)!r}; "
                    "pass the same settings to resume or another out="
                )
        manifest = {**old, **manifest, "benchmarks": {**old.get("benchmarks", {}), **manifest["benchmarks"]}}
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(manifest, indent=2) + "\n")


def read_manifest(out: Path) -> dict[str, Any]:
    """The run record of `out` ({} when there is none); a damaged one is a one-line ResumeMismatch."""
    path = out / MANIFEST
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    else:
        if isinstance(manifest, dict):
            return manifest
        problem = f"a JSON {type(manifest).__name__}, not an object"
    raise ResumeMismatch(
        f"{path} is not a justrl-eval run record ({problem}); restore it, or delete it to resume "
        "with this run's settings, or pass another out="
    )


def make_manifest(model: str, base_model: str | None, sampling: SamplingSpec, ns: dict[str, int]) -> dict[str, Any]:
    """What justrl-grade needs to know about the run besides the responses."""
    return {
        "model": model,
        "base_model": base_model,
        "sampling": asdict(sampling),
        "benchmarks": {name: {"n": n} for name, n in ns.items()},
    }


def _check_done(path: Path, done: dict[int, dict[str, Any]], items: Sequence[EvalItem]) -> None:
    """Refuse to resume onto records of other problems (a rebuilt or reordered file)."""
    by_index = {item.index: item for item in items}
    for index, record in done.items():
        item = by_index.get(index)
        if item is not None and (record.get("problem") != item.problem or record["ground_truth"] != item.ground_truth):
            raise ResumeMismatch(
                f"{path} record {index} is for another problem than the benchmark file's row {index}; "
                "the benchmark file changed since, so use another out="
            )


@dataclass(frozen=True)
class BenchmarkJob:
    """One benchmark to generate: its problems, their templated prompts, N and output file."""

    name: str
    items: Sequence[EvalItem]
    prompts: Sequence[str]
    n: int
    path: Path


Shard = tuple[BenchmarkJob, list[tuple[EvalItem, str]]]


def _pending_work(job: BenchmarkJob) -> list[tuple[EvalItem, str]]:
    done = open_for_resume(job.path, job.n)
    _check_done(job.path, done, job.items)
    return [(item, prompt) for item, prompt in zip(job.items, job.prompts) if item.index not in done]


def _shards(todo: dict[str, list[tuple[EvalItem, str]]], jobs: Sequence[BenchmarkJob], shard_sequences: int) -> Iterator[Shard]:
    for job in jobs:
        size = prompts_per_shard(shard_sequences, job.n)
        pairs = todo[job.name]
        for start in range(0, len(pairs), size):
            yield job, pairs[start : start + size]


def _records(shard: Shard, outputs: list[list[Completion]]) -> list[dict]:
    job, pairs = shard
    if len(outputs) != len(pairs) or any(len(o) != job.n for o in outputs):
        raise RuntimeError(
            f"engine returned {[len(o) for o in outputs]} completions for {len(pairs)} prompts, expected {job.n} each"
        )
    return [
        make_record(job.name, item.index, item.problem, item.ground_truth, completions)
        for (item, _), completions in zip(pairs, outputs)
    ]


def run_benchmarks(
    engine: GenerationEngine,
    jobs: Sequence[BenchmarkJob],
    sampling: SamplingSpec,
    shard_sequences: int,
    progress: bool = True,
) -> dict[str, int]:
    """Generate the missing problems of every job; returns how many were new per benchmark.

    All benchmarks feed one queue of shards, so a replica that finishes its last AIME shard
    takes a MATH-500 shard instead of idling while another replica finishes AIME's longest
    response. When a shard fails, the shards already in flight are still drained and written
    before the error is raised again, so a failure never discards finished GPU work. A save
    request from the Slurm job (its time limit is near) stops new shards the same way.
    """
    todo = {job.name: _pending_work(job) for job in jobs}
    bars = {
        job.name: progress_bar(total=len(job.items), initial=len(job.items) - len(todo[job.name]), desc=job.name,
                               unit="problem", position=i, disable=not progress)
        for i, job in enumerate(jobs)
    }
    shards = _shards(todo, jobs, shard_sequences)
    written = {job.name: 0 for job in jobs}
    error: Exception | None = None
    slots = max(1, engine.concurrency)
    with ThreadPoolExecutor(max_workers=slots) as pool:
        pending: dict[Future, Shard] = {}

        def submit_next() -> None:
            shard = next(shards, None)
            if shard is not None:
                job, pairs = shard
                pending[pool.submit(engine.generate, [p for _, p in pairs], job.n, sampling)] = shard

        for _ in range(slots):
            submit_next()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                shard = pending.pop(future)
                try:
                    records = _records(shard, future.result())
                except Exception as exc:  # noqa: BLE001 - re-raised once in-flight work is saved
                    error = error or exc
                    continue
                append_records(shard[0].path, records)
                written[shard[0].name] += len(records)
                bars[shard[0].name].update(len(records))
                if error is None and not save_requested():
                    submit_next()
    for bar in bars.values():
        bar.close()
    if error is not None:
        raise error
    if save_requested() and next(shards, None) is not None:
        say("justrl-eval: stopped at the job's save request; finished shards are on disk and a rerun resumes",
            file=sys.stderr)
    return written
