"""The JustRL results table: this run's avg@N beside the published numbers, as rows of cells.

Rows are built once as plain data and rendered twice (Markdown for results.md, a W&B table),
so the two views cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

import yaml


PAPER_AVG = "Avg (paper, all 9)"


@dataclass(frozen=True)
class Published:
    """The published numbers (percent) of one model, from configs/eval/published.yaml."""

    name: str
    base: str
    scores: dict[str, float]
    avg: float
    hf_id: str | None = None


def load_published() -> tuple[list[str], list[Published]]:
    """The paper's column order and its rows."""
    data = yaml.safe_load(resources.files("justrl.configs").joinpath("eval/published.yaml").read_text("utf-8"))
    rows = [
        Published(name=m["name"], base=m["base"], scores=dict(m["scores"]), avg=float(m["avg"]), hf_id=m.get("hf_id"))
        for m in data["models"]
    ]
    return list(data["columns"]), rows


def _basename(model: str | None) -> str | None:
    return PurePosixPath(model.rstrip("/")).name if model else None


def published_for(model: str | None, base_model: str | None, rows: list[Published]) -> list[Published]:
    """Published rows of the same backbone as `model` (or its declared `base_model`).

    Matches a hub id or a directory named like the published model, so both
    `deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B` and `/ckpt/JustRL-DeepSeek-1.5B` find their family.
    """
    keys = {k for k in (model, base_model, _basename(model), _basename(base_model)) if k}
    bases = {r.base for r in rows if r.name in keys or (r.hf_id and r.hf_id in keys)}
    return [r for r in rows if r.base in bases]


def table_rows(
    label: str, scores: dict[str, float | None], columns: list[str], published: list[Published]
) -> tuple[list[str], list[list[Any]]]:
    """Header and rows (model, one cell per column, Avg); missing benchmarks are None.

    Avg covers the benchmarks this run evaluated, for the published rows too, so the rows stay
    comparable when only some benchmarks were run; with all nine it is the paper's own Avg. With
    fewer, a last column PAPER_AVG keeps the paper's Avg of the published rows, so a reader never
    mistakes the recomputed one for the published figure.
    """
    covered = [c for c in columns if scores.get(c) is not None]

    def avg(values: dict[str, float | None]) -> float | None:
        return sum(values[c] for c in covered) / len(covered) if covered else None

    partial = len(covered) < len(columns) and bool(published)
    rows: list[list[Any]] = [[label, *(scores.get(c) for c in columns), avg(scores), *([None] if partial else [])]]
    for pub in published:
        pub_avg = avg(pub.scores) if partial else pub.avg
        rows.append([f"{pub.name} (published)", *(pub.scores.get(c) for c in columns), pub_avg,
                     *([pub.avg] if partial else [])])
    return ["model", *columns, "Avg", *([PAPER_AVG] if partial else [])], rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def markdown(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub Markdown table; floats with two decimals, missing cells as '-'."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
