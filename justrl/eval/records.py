"""JSONL files of generations: one line per problem holding all of its N responses.

Lines are appended and flushed as shards finish, so a crash loses at most the shards in
flight. A line cut short by a crash is dropped when the file is reopened for resuming
(`open_for_resume`), and a complete record whose newline was lost is kept and given one, so
appended lines never glue onto the last line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from justrl.atomic import write_text_atomic
from justrl.eval.engine import Completion

REQUIRED_KEYS = ("index", "ground_truth", "responses")


class ResumeMismatch(ValueError):
    """An output file was written by a run with other settings; the message says which."""


@dataclass
class ReadResult:
    """Valid records of a file plus what was wrong with the rest (reported, never fatal);
    `first_problem` says what the first malformed line lacks, so a user can fix the writer."""

    records: list[dict[str, Any]] = field(default_factory=list)
    malformed: int = 0
    duplicates: int = 0
    first_problem: str | None = None


def make_record(
    benchmark: str, index: int, problem: str, ground_truth: str, completions: list[Completion]
) -> dict[str, Any]:
    """The JSON object written for one problem."""
    return {
        "benchmark": benchmark,
        "index": index,
        "problem": problem,
        "ground_truth": ground_truth,
        "n": len(completions),
        "responses": [
            {"text": c.text, "num_tokens": c.num_tokens, "finish_reason": c.finish_reason}
            for c in completions
        ],
    }


def parse_record(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """(record, None) for a well-formed line, else (None, what is wrong with it): the layout is
    the one README's "Evaluation output" documents, and the reason names the missing key."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None, "not a JSON object (cut short, or not JSON)"
    if not isinstance(record, dict):
        return None, f"a JSON {type(record).__name__}, not an object"
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        return None, f"missing key {', '.join(repr(k) for k in missing)}"
    responses = record["responses"]
    if not isinstance(record["index"], int):
        return None, f"'index' is {record['index']!r}, expected an integer"
    if not isinstance(responses, list) or not responses:
        return None, "'responses' must be a non-empty list"
    bad = next((i for i, r in enumerate(responses) if not (isinstance(r, dict) and isinstance(r.get("text"), str))), None)
    if bad is not None:
        return None, f"responses[{bad}] has no string 'text'"
    return record, None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based line numbers."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line


def read_records(path: Path) -> ReadResult:
    """Every valid record of the file, first occurrence of each index wins."""
    result = ReadResult()
    seen: set[int] = set()
    if not path.exists():
        return result
    for number, line in _lines(path):
        record, problem = parse_record(line)
        if record is None:
            result.malformed += 1
            result.first_problem = result.first_problem or f"line {number}: {problem}"
        elif record["index"] in seen:
            result.duplicates += 1
        else:
            seen.add(record["index"])
            result.records.append(record)
    return result


def open_for_resume(path: Path, n: int) -> dict[int, dict[str, Any]]:
    """Records already complete, by index; rewrites the file without torn or duplicate lines.

    A file written with a different N is refused rather than rewritten: dropping its records
    would silently throw away GPU hours. The rewrite goes through a temporary file, an fsync and
    an atomic rename, so a crash during it leaves either the old or the new file, never a mix.
    """
    existing = read_records(path)
    other = [r for r in existing.records if len(r["responses"]) != n]
    if other:
        raise ResumeMismatch(
            f"{path} holds {len(other[0]['responses'])} samples per problem but this run asks for "
            f"n={n}; pass the same n or another out="
        )
    if existing.malformed or existing.duplicates or not _ends_with_newline(path):
        write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in existing.records))
    return {r["index"]: r for r in existing.records}


def _ends_with_newline(path: Path) -> bool:
    """Whether the next appended line starts a line of its own (an absent or empty file does)."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def append_records(path: Path, records: list[dict[str, Any]]) -> None:
    """Append and fsync, so the records survive a node going down right after."""
    with path.open("a", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
