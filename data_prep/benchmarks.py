"""The benchmark registry (configs/benchmarks.yaml), shared by the builders and the evaluation tools."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.config import load_yaml
from data_prep.errors import PrepError

EXTRACT_MODES = ("as_is", "last_boxed", "after_hashes")


@dataclass(frozen=True)
class Layout:
    """Where question and answer live in one copy of a set (dotted paths, e.g. prompt.0.content)."""

    question: str
    answer: str
    path: str | None = None
    hub_id: str | None = None
    config: str | None = None
    split: str | None = None


@dataclass(frozen=True)
class BenchmarkSpec:
    """One evaluation set: canonical name (= data_source), samples per problem, and its two layouts."""

    name: str
    samples: int
    local: Layout
    hub: Layout
    extract: str = "as_is"
    extra: bool = False

    @property
    def folder(self) -> str:
        """The folder of the JustRL-format copy under a --source directory (e.g. Olympiad-Bench)."""
        return Path(self.local.path).parts[0]


@dataclass(frozen=True)
class Registry:
    """All sets plus the prompt suffix; `benchmarks` keeps the published order of the nine."""

    prompt_suffix: str
    benchmarks: dict[str, BenchmarkSpec]
    extras: dict[str, BenchmarkSpec]

    @property
    def names(self) -> list[str]:
        return list(self.benchmarks)

    def get(self, name: str) -> BenchmarkSpec:
        """Look a set up by canonical name; unknown names list the valid ones."""
        specs = {**self.benchmarks, **self.extras}
        if name not in specs:
            raise PrepError(f"unknown benchmark {name!r}; expected one of {', '.join(specs)}")
        return specs[name]


def _layout(name: str, kind: str, raw: Any) -> Layout:
    if not isinstance(raw, dict) or "question" not in raw or "answer" not in raw:
        raise PrepError(f"benchmarks.yaml: {name}.{kind} must be a mapping with 'question' and 'answer'")
    if kind == "local" and "path" not in raw:
        raise PrepError(f"benchmarks.yaml: {name}.local needs 'path'")
    if kind == "hub" and ("id" not in raw or "split" not in raw):
        raise PrepError(f"benchmarks.yaml: {name}.hub needs 'id' and 'split'")
    return Layout(
        question=str(raw["question"]),
        answer=str(raw["answer"]),
        path=raw.get("path"),
        hub_id=raw.get("id"),
        config=raw.get("config"),
        split=raw.get("split"),
    )


def _spec(name: str, raw: Any, extra: bool) -> BenchmarkSpec:
    if not isinstance(raw, dict):
        raise PrepError(f"benchmarks.yaml: entry {name} must be a mapping")
    samples = raw.get("samples")
    if not isinstance(samples, int) or samples < 1:
        raise PrepError(f"benchmarks.yaml: {name}.samples must be a positive integer, got {samples!r}")
    extract = raw.get("extract", "as_is")
    if extract not in EXTRACT_MODES:
        raise PrepError(f"benchmarks.yaml: {name}.extract is {extract!r}; expected one of {EXTRACT_MODES}")
    return BenchmarkSpec(
        name=name,
        samples=samples,
        local=_layout(name, "local", raw.get("local")),
        hub=_layout(name, "hub", raw.get("hub")),
        extract=extract,
        extra=extra,
    )


def load_registry(path: Path | None = None) -> Registry:
    """Parse configs/benchmarks.yaml (or `path`) into typed specs, failing loudly on a bad entry."""
    data = load_yaml("benchmarks.yaml", path)
    suffix = data.get("prompt_suffix")
    if not isinstance(suffix, str) or not suffix:
        raise PrepError("benchmarks.yaml: prompt_suffix must be a non-empty string")
    sections = {}
    for section, extra in (("benchmarks", False), ("extras", True)):
        entries = data.get(section) or {}
        if not isinstance(entries, dict):
            raise PrepError(f"benchmarks.yaml: {section} must be a mapping of name to entry")
        sections[section] = {name: _spec(name, raw, extra) for name, raw in entries.items()}
    return Registry(prompt_suffix=suffix, benchmarks=sections["benchmarks"], extras=sections["extras"])
