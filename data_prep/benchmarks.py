"""The benchmark registry (configs/benchmarks.yaml), shared with the evaluation tools, and its builder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.errors import PrepError
from data_prep.output import RL_SCHEMA, ParquetSink, Summary, rl_batch, write_json
from data_prep.sources import Source, column_values, open_source, require_text
from data_prep.text import extract_answer, with_suffix
from data_prep.tokens import user_prompt_lengths
from justrl_common import bundled
from justrl_common.config import load_yaml
from justrl_common.progress import progress_bar, say

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
    hub: Layout | None
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
        # A synthetic set (built by its own command, e.g. `justrl-prep tiny`) has no hub copy.
        hub=_layout(name, "hub", raw["hub"]) if raw.get("hub") is not None else None,
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


def _open_layout(spec: BenchmarkSpec, source_dir: Path | None, from_hub: bool) -> tuple[Source, Layout]:
    """The JustRL-format copy under source_dir, else the copy shipped with the project (the nine),
    else the hub copy (asked for, or an extra set, which is not shipped)."""
    if source_dir is None and not spec.extra and not from_hub:
        source_dir = bundled.benchmarks_dir()
    if source_dir is None:
        hub = spec.hub
        if hub is None:
            raise PrepError(
                f"{spec.name} has no hub copy; its command writes it (configs/benchmarks.yaml), "
                f"or pass --source DIR with {spec.local.path} under it"
            )
        return open_source(hub.hub_id, split=hub.split, config=hub.config), hub
    path = Path(source_dir) / spec.local.path
    if not path.is_file():
        raise PrepError(f"{spec.name}: {path} not found; expected the JustRL-format file under --source")
    return open_source(path), spec.local


def build_benchmark(
    spec: BenchmarkSpec,
    out_dir: Path,
    suffix: str,
    source_dir: Path | None,
    tokenizer: Any,
    settings: dict,
    from_hub: bool = False,
) -> Summary:
    """One benchmark -> `<out_dir>/<NAME>.parquet` with data_source = NAME and the bare ground truth."""
    src, layout = _open_layout(spec, source_dir, from_hub)
    require_text(src.schema, layout.question, src.label)
    require_text(src.schema, layout.answer, src.label, allow_numbers=True)
    questions, answers = [], []
    for batch in src.batches(4096, columns=[layout.question.split(".")[0], layout.answer.split(".")[0]]):
        questions += column_values(batch, layout.question)
        answers += column_values(batch, layout.answer)
    summary = Summary(builder=f"benchmarks/{spec.name}", source=src.label, rows_in=len(questions))
    rows = []
    for i, (question, raw_answer) in enumerate(zip(questions, answers, strict=True)):
        problem, truth = (question or "").strip(), extract_answer(raw_answer, spec.extract)
        if not problem:
            summary.drop("empty_problem")
        elif not truth:
            summary.drop("missing_ground_truth")
        else:
            rows.append((i, with_suffix(problem, suffix), truth))
    if tokenizer is not None and rows:
        lengths = user_prompt_lengths(tokenizer, [user for _, user, _ in rows])
        summary.drop("prompt_too_long", sum(n > settings["max_prompt_length"] for n in lengths))
        rows = [row for row, n in zip(rows, lengths, strict=True) if n <= settings["max_prompt_length"]]
    if not rows:
        raise PrepError(f"{spec.name}: no valid rows in {src.label} (dropped: {dict(summary.dropped)})")
    out_path = Path(out_dir) / f"{spec.name}.parquet"
    n = len(rows)
    batch = rl_batch(
        spec.name,
        [user for _, user, _ in rows],
        [settings["ability"]] * n,
        [truth for _, _, truth in rows],
        [settings["style"]] * n,
        [i for i, _, _ in rows],
        settings["split"],
        [f"{spec.name}-{i}" for i, _, _ in rows],
    )
    with ParquetSink(out_path, RL_SCHEMA) as sink:
        sink.write(batch)
    summary.rows_out, summary.outputs = sink.rows, [str(out_path)]
    say(summary.line())
    return summary


def build_benchmarks(
    out_dir: Path,
    source_dir: Path | None = None,
    names: list[str] | None = None,
    tokenizer: Any = None,
    from_hub: bool = False,
) -> list[Summary]:
    """`justrl-prep benchmarks`: the nine (or the named sets) plus one benchmarks.summary.json.

    Without source_dir the nine come from the copies shipped with the project (offline, the exact
    JustRL files); `from_hub` reads every set from its public hub copy instead."""
    registry = load_registry()
    settings = load_yaml("data_prep.yaml")["benchmarks"]
    specs = [registry.get(name) for name in (names or registry.names)]
    if source_dir is not None and not Path(source_dir).is_dir():
        raise PrepError(f"--source {source_dir}: folder not found; expected the JustRL benchmark folder")
    with progress_bar(specs, desc="benchmarks", unit="set") as bar:
        summaries = [
            build_benchmark(spec, out_dir, registry.prompt_suffix, source_dir, tokenizer, settings, from_hub)
            for spec in bar
        ]
    write_json(Path(out_dir) / "benchmarks.summary.json", [s.to_dict() for s in summaries])
    return summaries
