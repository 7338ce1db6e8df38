"""Word n-gram overlap between training problems and the evaluation benchmarks.

Problems are compared after normalisation (lower case, alphanumeric words only) and with the
JustRL suffix removed, since a shared instruction would otherwise make every problem "overlap".
Eval problems shorter than n words are matched by their whole normalised text instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from data_prep.benchmarks import Registry, load_registry
from data_prep.errors import PrepError
from data_prep.output import write_json
from data_prep.sources import column_values, open_source, path_type
from data_prep.text import normalize_words
from justrl_common.config import load_yaml
from justrl_common.progress import progress_bar, say


@dataclass(frozen=True)
class EvalItem:
    """One benchmark problem, identified by its row position in the benchmark file."""

    benchmark: str
    index: int
    text: str


def ngrams(words: list[str], n: int) -> set[str]:
    """Word n-grams of already normalised words (each text is normalised once, then reused)."""
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def _problem_texts(path: Path, suffix: str, batch_rows: int = 65536) -> Iterator[tuple[int, str]]:
    """(row, problem) from an RL file (prompt) or SFT file (messages), suffix removed."""
    source = open_source(path)
    column = "prompt" if "prompt" in source.schema.names else "messages"
    path_type(source.schema, f"{column}.0.content", source.label)
    row = 0
    for batch in source.batches(batch_rows, columns=[column]):
        for text in column_values(batch, f"{column}.0.content"):
            yield row, (text or "").removesuffix(suffix)
            row += 1


def load_eval_items(eval_dir: Path, registry: Registry) -> list[EvalItem]:
    """Benchmarks found in eval_dir: built files (<NAME>.parquet) or the JustRL folder layout."""
    items: list[EvalItem] = []
    for spec in registry.benchmarks.values():
        built = eval_dir / f"{spec.name}.parquet"
        if built.is_file():
            texts = _problem_texts(built, registry.prompt_suffix)
        elif (eval_dir / spec.local.path).is_file():
            source = open_source(eval_dir / spec.local.path)
            path_type(source.schema, spec.local.question, source.label)
            values = [v for b in source.batches(4096) for v in column_values(b, spec.local.question)]
            texts = enumerate(v or "" for v in values)
        else:
            continue
        items.extend(EvalItem(spec.name, i, text) for i, text in texts)
    if not items:
        raise PrepError(f"{eval_dir}: no benchmark files found; expected <NAME>.parquet for NAME in {registry.names}")
    return items


def find_overlaps(train: Iterable[tuple[int, str]], items: list[EvalItem], n: int) -> dict[tuple[str, int], dict]:
    """For each eval item sharing an n-gram (or, if short, its whole text) with a training problem:
    the number of distinct shared n-grams and the training rows involved."""
    by_gram: dict[str, list[EvalItem]] = defaultdict(list)
    by_text: dict[str, list[EvalItem]] = defaultdict(list)
    for item in items:
        words = normalize_words(item.text)
        grams = ngrams(words, n)
        if grams:
            for gram in grams:
                by_gram[gram].append(item)
        else:
            by_text[" ".join(words)].append(item)
    hits: dict[tuple[str, int], dict] = {}
    # DAPO as JustRL trained on it repeats each problem ~100 times: match each distinct text once.
    matches: dict[str, dict[EvalItem, int]] = {}
    for row, text in train:
        if text not in matches:
            words = normalize_words(text)
            matched: dict[EvalItem, int] = defaultdict(int)
            for gram in ngrams(words, n) & by_gram.keys():
                for item in by_gram[gram]:
                    matched[item] += 1
            for item in by_text.get(" ".join(words), []):
                matched[item] += 1
            matches[text] = matched
        for item, count in matches[text].items():
            hit = hits.setdefault((item.benchmark, item.index), {"shared_ngrams": 0, "train_rows": []})
            hit["shared_ngrams"] = max(hit["shared_ngrams"], count)
            hit["train_rows"].append(row)
    return hits


def report(hits: dict[tuple[str, int], dict], items: list[EvalItem], n: int, train_label: str, list_max: int) -> dict:
    """The JSON report: per benchmark, how many items overlap and which."""
    benches: dict[str, dict] = {}
    for item in items:
        bench = benches.setdefault(item.benchmark, {"items": 0, "overlapping": 0, "overlaps": []})
        bench["items"] += 1
        hit = hits.get((item.benchmark, item.index))
        if hit:
            bench["overlapping"] += 1
            rows = hit["train_rows"]
            bench["overlaps"].append(
                {
                    "index": item.index,
                    "problem": item.text[:300],
                    "shared_ngrams": hit["shared_ngrams"],
                    "train_rows_count": len(rows),
                    "train_rows": rows[:list_max],
                }
            )
    return {"ngram": n, "train": train_label, "benchmarks": benches}


def print_report(result: dict) -> None:
    for name, bench in result["benchmarks"].items():
        say(f"decontam {name}: {bench['overlapping']}/{bench['items']} items share a {result['ngram']}-gram with training data")
        for hit in bench["overlaps"]:
            say(f"  {name}[{hit['index']}] ({hit['train_rows_count']} train rows): {hit['problem'][:100]!r}")


def run_decontam(
    train: Iterable[tuple[int, str]],
    train_label: str,
    eval_dir: Path,
    out: Path,
    n: int | None = None,
    registry: Registry | None = None,
) -> dict:
    """Check `train` problems against every benchmark in eval_dir; print and write the report to `out`."""
    registry = registry or load_registry()
    settings = load_yaml("data_prep.yaml")["decontam"]
    n = n or settings["ngram"]
    items = load_eval_items(eval_dir, registry)
    hits = find_overlaps(progress_bar(train, desc="decontam", unit="problems"), items, n)
    result = report(hits, items, n, train_label, settings["max_train_ids_listed"])
    print_report(result)
    write_json(out, result)
    say(f"decontam report written to {out}")
    return result


def decontam_file(train_file: Path, eval_dir: Path, out: Path | None = None, n: int | None = None) -> dict:
    """`justrl-prep decontam`: a built training file (RL or SFT schema) against a benchmark folder."""
    if not train_file.is_file():
        raise PrepError(f"--train {train_file}: file not found; expected a parquet built by justrl-prep")
    if not eval_dir.is_dir():
        raise PrepError(f"--eval {eval_dir}: folder not found; expected a folder of benchmark parquet files")
    registry = load_registry()
    out = out or train_file.with_name(train_file.stem + ".decontam.json")
    return run_decontam(_problem_texts(train_file, registry.prompt_suffix), str(train_file), eval_dir, out, n, registry)
