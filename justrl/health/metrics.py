"""Per-step metrics from the reward adapter's per-response diagnostics.

veRL's own metrics say nothing about *how* the model reasons; a collapse shows up first as falling
thinking rate, growing, repetitive, length-capped responses and prompt groups with no learning
signal. These functions turn the adapter's per-response dicts (see `reward_fns.adapter`) into the
`justrl/...` scalars every configured logger receives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PREFIX = "justrl/"
VAL_PREFIX = "justrl/val/"
ACCURACY = "justrl/accuracy"
VAL_ACCURACY = "justrl/val/accuracy"


@dataclass(frozen=True)
class ResponseRecord:
    """One rollout: where it came from, its prompt group, its length and the adapter's diagnostics."""

    data_source: str
    group: str
    response_length: int
    info: Mapping[str, object]


def _values(records: Sequence[ResponseRecord], key: str) -> np.ndarray:
    """The numeric values of one diagnostic, skipping responses whose adapter did not report it."""
    vals = [float(r.info[key]) for r in records if r.info.get(key) is not None]
    return np.asarray(vals, dtype=float)


def _mean(vals: np.ndarray) -> float | None:
    return float(vals.mean()) if vals.size else None


def _p95(vals: np.ndarray) -> float | None:
    return float(np.percentile(vals, 95)) if vals.size else None


def diagnostic_metrics(records: Sequence[ResponseRecord], prefix: str) -> dict[str, float]:
    """Rates and means shared by training and validation: accuracy, format, redundancy, penalties."""
    redundancy = _values(records, "redundancy")
    found = {
        "accuracy": _mean(_values(records, "acc")),
        "reward/mean": _mean(_values(records, "score")),
        "thinking_rate": _mean(_values(records, "has_think")),
        "boxed_rate": _mean(_values(records, "boxed")),
        "redundancy/mean": _mean(redundancy),
        "redundancy/p95": _p95(redundancy),
        "chunk_similarity/mean": _mean(_values(records, "chunk_similarity")),
        "format_penalty/mean": _mean(_values(records, "format_penalty")),
        "redundancy_penalty/mean": _mean(_values(records, "redundancy_penalty")),
    }
    return {prefix + name: value for name, value in found.items() if value is not None}


def zero_signal_share(records: Sequence[ResponseRecord]) -> float:
    """Share of prompt groups whose rewards are all equal: GRPO gives them zero advantage."""
    groups: dict[str, list[float]] = defaultdict(list)
    for r in records:
        groups[r.group].append(float(r.info["score"]))
    flat = sum(1 for scores in groups.values() if max(scores) == min(scores))
    return flat / len(groups)


def step_metrics(records: Sequence[ResponseRecord], max_response_length: int) -> dict[str, float]:
    """All `justrl/` training metrics of one step; `max_response_length` is the rollout's token cap."""
    if not records:
        return {}
    lengths = np.asarray([r.response_length for r in records], dtype=float)
    out = diagnostic_metrics(records, PREFIX)
    out.update(
        {
            "justrl/response_length/mean": float(lengths.mean()),
            "justrl/response_length/p50": float(np.percentile(lengths, 50)),
            "justrl/response_length/p95": float(np.percentile(lengths, 95)),
            "justrl/response_length/max": float(lengths.max()),
            "justrl/response_length/clip_ratio": float((lengths >= max_response_length).mean()),
            "justrl/response_length/cap": float(max_response_length),
        }
    )
    if all(r.info.get("score") is not None for r in records):
        out["justrl/zero_signal_groups"] = zero_signal_share(records)
    by_source: dict[str, list[ResponseRecord]] = defaultdict(list)
    for r in records:
        by_source[r.data_source].append(r)
    for source, rows in sorted(by_source.items()):
        acc = _mean(_values(rows, "acc"))
        if acc is not None:
            out[f"{ACCURACY}/{source}"] = acc
    return out


def validation_metrics(data_sources: Sequence[str], infos: Mapping[str, Sequence[object]]) -> dict[str, float]:
    """Per-benchmark `justrl/val/<NAME>/...` metrics plus their macro average over benchmarks.

    `infos` is veRL's column-oriented `reward_extra_infos_dict` from `_validate`: the adapter's keys,
    one list entry per validation response, aligned with `data_sources`.
    """
    keys = [k for k in infos if k != "reward"]
    rows: dict[str, list[ResponseRecord]] = defaultdict(list)
    for i, source in enumerate(data_sources):
        info = {k: infos[k][i] for k in keys}
        rows[str(source)].append(ResponseRecord(str(source), str(i), 0, info))
    out: dict[str, float] = {}
    per_bench = {source: diagnostic_metrics(recs, "") for source, recs in sorted(rows.items())}
    for source, metrics in per_bench.items():
        out.update({f"{VAL_PREFIX}{source}/{name}": value for name, value in metrics.items()})
    for name in ("accuracy", "thinking_rate", "boxed_rate", "redundancy/mean"):
        vals = [m[name] for m in per_bench.values() if name in m]
        if vals:
            out[VAL_PREFIX + name] = float(np.mean(vals))
    return out


def records_from_rollouts(
    extra_fields: Iterable[Mapping[str, object] | None],
    data_sources: Iterable[object],
    uids: Iterable[object],
    response_lengths: Iterable[int],
) -> list[ResponseRecord]:
    """Rebuild per-response records from what veRL's v1 agent loop stores in TransferQueue.

    Each trajectory's `extra_fields["reward_extra_info"]` holds the reward adapter's dict; `uid` is
    the prompt's id, shared by its `rollout.n` responses, so it identifies the GRPO group.
    """
    records = []
    for extra, source, uid, length in zip(extra_fields, data_sources, uids, response_lengths, strict=True):
        info = (extra or {}).get("reward_extra_info") or {}
        records.append(ResponseRecord(str(source), str(uid), int(length), info))
    return records
