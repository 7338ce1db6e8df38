"""Read a recorded run into `[(step, metrics), ...]` with metric names in the `justrl/` namespace.

Two formats: veRL's `file` logger (JSON lines `{"step": N, "data": {...}}`, written as training goes,
so a crashed run's last line may be cut off) and the column-oriented JSON of the JustTinker histories
(`step` plus one list per metric, `eval_step` plus one list per `eval_*` metric).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from justrl.metrics_file import attempt_files

History = list[tuple[int, dict[str, float]]]

# Column names of the JustTinker history files (Guanghan/JustTinker merged_history.json).
JUSTTINKER_COLUMNS = {
    "accuracy": "justrl/accuracy",
    "mean_reward": "justrl/reward/mean",
    "thinking_rate": "justrl/thinking_rate",
    "avg_response_length": "justrl/response_length/mean",
    "avg_redundancy_score": "justrl/redundancy/mean",
    "eval_accuracy": "justrl/val/accuracy",
    "eval_thinking_rate": "justrl/val/thinking_rate",
}

# veRL's own metric names, used when a file-logger run was recorded without this project's metrics.
VERL_FALLBACKS = {
    "response_length/mean": "justrl/response_length/mean",
    "response_length/max": "justrl/response_length/max",
    "response_length/clip_ratio": "justrl/response_length/clip_ratio",
    "critic/score/mean": "justrl/reward/mean",
}


class HistoryError(ValueError):
    """A run file that cannot be read; the message names the file and what was expected."""


def _numeric(data: Mapping[str, object]) -> dict[str, float]:
    out = {}
    for key, value in data.items():
        if isinstance(value, bool):
            value = float(value)
        if isinstance(value, int | float) and math.isfinite(value):
            out[str(key)] = float(value)
    return out


def _with_fallbacks(metrics: dict[str, float]) -> dict[str, float]:
    for verl_key, ours in VERL_FALLBACKS.items():
        if ours not in metrics and verl_key in metrics:
            metrics[ours] = metrics[verl_key]
    return metrics


def read_jsonl(path: Path) -> History:
    """veRL file-logger output; lines for the same step are merged, a cut-off last line is skipped."""
    steps: dict[int, dict[str, float]] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            step, data = int(row["step"]), row["data"]
            if not isinstance(data, Mapping):
                raise TypeError("data is not an object")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            if number == len(lines):
                break
            raise HistoryError(
                f"{path}:{number}: expected a veRL file-logger line {{\"step\": N, \"data\": {{...}}}}"
            ) from None
        steps.setdefault(step, {}).update(_numeric(data))
    return [(step, _with_fallbacks(steps[step])) for step in sorted(steps)]


def read_attempts(paths: list[Path]) -> History:
    """File-logger files of one run's attempts, oldest first (justrl.metrics_file): a step that a
    later attempt logged again (it resumed from an earlier checkpoint) replaces the earlier record."""
    steps: dict[int, dict[str, float]] = {}
    for path in paths:
        steps.update(read_jsonl(path))
    return sorted(steps.items())


def _columns(
    doc: Mapping[str, object], step_key: str, prefix: str, path: Path, notes: list[str]
) -> dict[int, dict[str, float]]:
    """Per-step metrics of one step list. A metric added mid-run (JustTinker's merged histories
    turn the redundancy penalty on at step 81) has fewer values than steps: it covers the last ones."""
    steps = doc.get(step_key) or []
    rows: dict[int, dict[str, float]] = {int(s): {} for s in steps}
    for key, column in doc.items():
        if key == step_key or not key.startswith(prefix) or not isinstance(column, list):
            continue
        if prefix == "" and key.startswith("eval_"):
            continue
        if len(column) > len(steps):
            raise HistoryError(
                f"{path}: column {key!r} has {len(column)} values for {len(steps)} {step_key} entries; "
                f"a column may cover the last {step_key} entries, never more entries than there are"
            )
        covered = steps[len(steps) - len(column) :]
        if len(column) < len(steps):
            first = f"from {step_key} {covered[0]}" if covered else "no entries"
            notes.append(f"column {key!r} has {len(column)} values for {len(steps)} {step_key} entries: read as the last ({first})")
        name = JUSTTINKER_COLUMNS.get(key, key)
        for step, value in zip(covered, column):
            rows[int(step)].update(_numeric({name: value}))
    return rows


def read_columns(path: Path, notes: list[str] | None = None) -> History:
    """A column-oriented history (justrl_common/bundled/histories): per-step columns plus `eval_*` columns;
    how short columns were aligned is appended to `notes`."""
    notes = [] if notes is None else notes
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("step"), list):
        raise HistoryError(f"{path}: expected a JSON object with a 'step' list and one list per metric")
    rows = _columns(doc, "step", "", path, notes)
    for step, metrics in _columns(doc, "eval_step", "eval_", path, notes).items():
        rows.setdefault(step, {}).update(metrics)
    return [(step, rows[step]) for step in sorted(rows)]


def load_history(path: str | Path, notes: list[str] | None = None) -> History:
    """A recorded run from either format, chosen by content: JSON lines or one JSON object
    (`notes` collects what a reader should know about how it was read)."""
    path = Path(path)
    attempts = attempt_files(path)
    if attempts and attempts != [path]:
        if notes is not None:
            notes.append(f"{len(attempts)} attempts of one run read as one history: {', '.join(p.name for p in attempts)}")
        return read_attempts(attempts)
    if not path.is_file():
        raise HistoryError(f"run file {str(path)!r} does not exist")
    try:
        with path.open(encoding="utf-8") as fh:
            first = fh.readline()
        try:
            head = json.loads(first)
        except json.JSONDecodeError:
            head = None
        if isinstance(head, dict) and "data" in head and "step" in head:
            return read_jsonl(path)
        return read_columns(path, notes)
    except UnicodeDecodeError as exc:
        raise HistoryError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); expected a veRL file-logger JSONL or a JSON history") from None
