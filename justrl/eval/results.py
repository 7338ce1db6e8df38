"""Grade an evaluation directory: per-item grades, per-benchmark statistics, results files.

Input is what justrl-eval writes (`<NAME>.jsonl` + `run.json`), or any JSONL of the same
shape; output is `grades/<NAME>.jsonl`, `results.json` (fractions) and `results.md`
(percent, the paper's layout).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from justrl.eval.generate import read_manifest
from justrl.eval.grading import Grade, GradeTask, grade_all
from justrl.eval.metrics import summarize
from justrl.eval.records import ReadResult, read_records
from justrl.eval.tables import PAPER_AVG, load_published, markdown, published_for, table_rows
from justrl_common.progress import say

GRADES_DIR = "grades"


class GradeInputError(ValueError):
    """Nothing gradable in the directory; the message says what was expected."""


def read_dir(out: Path, names: list[str] | None = None) -> dict[str, ReadResult]:
    """Records of every `<NAME>.jsonl` in `out` (or only `names`), in the paper's column order."""
    if not out.is_dir():
        raise GradeInputError(f"evaluation directory {out} not found; expected the out= of justrl-eval")
    paths = {p.stem: p for p in out.glob("*.jsonl")}
    if names:
        missing = [n for n in names if n not in paths]
        if missing:
            raise GradeInputError(f"{out / (missing[0] + '.jsonl')} not found; have {', '.join(sorted(paths)) or 'none'}")
        paths = {n: paths[n] for n in names}
    if not paths:
        raise GradeInputError(f"no <BENCHMARK>.jsonl files in {out}; run justrl-eval with out={out} first")
    columns, _ = load_published()
    order = sorted(paths, key=lambda n: (columns.index(n) if n in columns else len(columns), n))
    return {name: read_records(paths[name]) for name in order}


def benchmark_stats(records: list[dict[str, Any]], grades: list[list[Grade]], read: ReadResult) -> dict[str, Any]:
    """Everything results.json says about one benchmark."""
    responses = [r for rec in records for r in rec["responses"]]
    tokens = [r["num_tokens"] for r in responses if isinstance(r.get("num_tokens"), int)]
    stats = summarize([[g.correct for g in item] for item in grades], [[g.pred for g in item] for item in grades])
    return {
        "n": sorted({len(rec["responses"]) for rec in records}),
        **stats,
        "mean_response_tokens": sum(tokens) / len(tokens) if tokens else None,
        "truncated_share": sum(r.get("finish_reason") == "length" for r in responses) / len(responses)
        if responses
        else None,
        # the pool's hard deadline and math-verify's own one both say "timed out"
        "timeouts": sum("timed out" in g.reason for item in grades for g in item),
        "malformed_lines": read.malformed,
        "duplicate_lines": read.duplicates,
    }


def write_grades(path: Path, records: list[dict[str, Any]], grades: list[list[Grade]]) -> None:
    """Per-item grades, one line per problem, beside the responses they judge."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for record, item in zip(records, grades):
            line = {
                "index": record["index"],
                "ground_truth": record["ground_truth"],
                "num_correct": sum(g.correct for g in item),
                "n": len(item),
                "grades": [asdict(g) for g in item],
            }
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def _split(flat: list[Grade], records: list[dict[str, Any]]) -> list[list[Grade]]:
    out, start = [], 0
    for record in records:
        out.append(flat[start : start + len(record["responses"])])
        start += len(record["responses"])
    return out


def grade_dir(
    out: Path,
    names: list[str] | None = None,
    verifier: str = "hybrid",
    options: dict[str, Any] | None = None,
    workers: int | None = None,
    timeout_s: float = 30.0,
    label: str | None = None,
    base_model: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Grade every benchmark file of `out` in one worker pool and write the result files."""
    read = read_dir(out, names)
    manifest = read_manifest(out)
    tasks = [
        GradeTask(r["text"], str(rec["ground_truth"]))
        for result in read.values()
        for rec in result.records
        for r in rec["responses"]
    ]
    flat = grade_all(tasks, verifier, options, workers, timeout_s, progress)
    benchmarks, start = {}, 0
    for name, result in read.items():
        size = sum(len(rec["responses"]) for rec in result.records)
        grades = _split(flat[start : start + size], result.records)
        start += size
        write_grades(out / GRADES_DIR / f"{name}.jsonl", result.records, grades)
        benchmarks[name] = benchmark_stats(result.records, grades, result)
        if result.malformed or result.duplicates:
            first = f" (first malformed, {result.first_problem})" if result.first_problem else ""
            say(
                f"justrl-grade: {name}.jsonl: skipped {result.malformed} malformed and "
                f"{result.duplicates} duplicate lines{first}",
                file=sys.stderr,
            )
    model = manifest.get("model")
    base = base_model or manifest.get("base_model")
    columns, published = load_published()
    header, rows = table_rows(
        label or (Path(model.rstrip("/")).name if model else out.name),
        {name: 100 * b["avg"] for name, b in benchmarks.items() if b["avg"] is not None},
        columns,
        published_for(model, base, published),
    )
    results = {
        "model": model,
        "base_model": base,
        "sampling": manifest.get("sampling"),
        "verifier": verifier,
        "benchmarks": benchmarks,
        "table": {"header": header, "rows": rows},
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "results.md").write_text(render_results(results, columns), encoding="utf-8")
    return results


def details_rows(benchmarks: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Per-benchmark statistics in percent: avg@N, pass@k, maj@N, length, truncation, problems."""
    ks = sorted({int(k) for b in benchmarks.values() for k in b["pass_at_k"]})
    header = ["benchmark", "N", "problems", "avg@N", *(f"pass@{k}" for k in ks), "maj@N", "mean tokens",
              "truncated %", "timeouts", "malformed lines"]

    def pct(value: float | None) -> float | None:
        return None if value is None else 100 * value

    rows = [
        [name, "/".join(map(str, b["n"])) or None, b["problems"], pct(b["avg"]),
         *(pct(b["pass_at_k"].get(str(k))) for k in ks), pct(b["maj"]),
         b["mean_response_tokens"], pct(b["truncated_share"]), b["timeouts"], b["malformed_lines"]]
        for name, b in benchmarks.items()
    ]
    return header, rows


def render_results(results: dict[str, Any], columns: list[str]) -> str:
    """results.md: the JustRL table (avg@N, percent), then the per-benchmark details."""
    header, rows = results["table"]["header"], results["table"]["rows"]
    evaluated = [c for c, v in zip(columns, rows[0][1 : 1 + len(columns)]) if v is not None]
    parts = [f"# Evaluation of {results['model'] or rows[0][0]}\n", "avg@N (Pass@1 as JustRL reports it), percent.\n",
             markdown(header, rows)]
    if not evaluated:
        parts.append("No benchmark file had a gradable record.\n")
    elif len(evaluated) < len(columns):
        paper = f"; {PAPER_AVG} is the published rows' Avg as the paper reports it" if PAPER_AVG in header else ""
        parts.append(f"Avg is over the {len(evaluated)} benchmarks evaluated ({', '.join(evaluated)}){paper}.\n")
    parts += ["## Details\n", markdown(*details_rows(results["benchmarks"]))]
    return "\n".join(parts)
