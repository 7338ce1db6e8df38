"""The resumable generation loop: shards of prompts go to the engine, finished shards to disk.

Up to `engine.concurrency` shards are in flight (one per GPU engine); each finished shard is
appended to the benchmark's JSONL at once, so a crash or preemption loses only the shards in
flight, and a rerun asks the engine only for problems without a record.
"""

from __future__ import annotations

import json
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator, Sequence

from tqdm import tqdm

from justrl.eval.benchmarks import EvalItem
from justrl.eval.engine import Completion, GenerationEngine, SamplingSpec
from justrl.eval.records import ResumeMismatch, append_records, make_record, open_for_resume

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
        old = json.loads(path.read_text(encoding="utf-8"))
        for key in ("model", "sampling"):
            if old.get(key) != manifest.get(key):
                raise ResumeMismatch(
                    f"{out} holds a run with {key}={old.get(key)!r}, not {manifest.get(key)!r}; "
                    "pass the same settings to resume or another out="
                )
        manifest = {**old, **manifest, "benchmarks": {**old.get("benchmarks", {}), **manifest["benchmarks"]}}
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


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


def _shards(pairs: list[tuple[EvalItem, str]], size: int) -> Iterator[list[tuple[EvalItem, str]]]:
    for start in range(0, len(pairs), size):
        yield pairs[start : start + size]


def _records(name: str, shard: list[tuple[EvalItem, str]], outputs: list[list[Completion]], n: int) -> list[dict]:
    if len(outputs) != len(shard) or any(len(o) != n for o in outputs):
        raise RuntimeError(
            f"engine returned {[len(o) for o in outputs]} completions for {len(shard)} prompts, expected {n} each"
        )
    return [
        make_record(name, item.index, item.problem, item.ground_truth, completions)
        for (item, _), completions in zip(shard, outputs)
    ]


def run_benchmark(
    engine: GenerationEngine,
    name: str,
    items: Sequence[EvalItem],
    prompts: Sequence[str],
    n: int,
    sampling: SamplingSpec,
    path: Path,
    shard_prompts: int,
    progress: bool = True,
) -> int:
    """Generate the missing problems of one benchmark into `path`; returns how many were new.

    When one shard fails, the shards already in flight are still drained and written before
    the error is raised again, so a failure never discards finished GPU work.
    """
    done = open_for_resume(path, n)
    _check_done(path, done, items)
    todo = [(item, prompt) for item, prompt in zip(items, prompts) if item.index not in done]
    shards = _shards(todo, shard_prompts)
    bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=name, unit="problem", disable=not progress)
    written, error = 0, None
    with ThreadPoolExecutor(max_workers=max(1, engine.concurrency)) as pool:
        pending: dict[Future, list[tuple[EvalItem, str]]] = {}

        def submit_next() -> None:
            shard = next(shards, None)
            if shard is not None:
                pending[pool.submit(engine.generate, [p for _, p in shard], n, sampling)] = shard

        for _ in range(max(1, engine.concurrency)):
            submit_next()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                shard = pending.pop(future)
                try:
                    records = _records(name, shard, future.result(), n)
                except Exception as exc:  # noqa: BLE001 - re-raised once in-flight work is saved
                    error = error or exc
                    continue
                append_records(path, records)
                written += len(records)
                bar.update(len(records))
                if error is None:
                    submit_next()
    bar.close()
    if error is not None:
        raise error
    return written
