"""Which benchmark files an evaluation reads, and the problems inside them.

The benchmark list, N per benchmark and the published column order come from the data
helper's registry (configs/benchmarks.yaml), so training validation, offline evaluation and
data preparation cannot disagree about what "AIME24" means.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from data_prep.benchmarks import Registry, load_registry
from justrl_common.errors import InputError


class EvalInputError(ValueError):
    """Bad evaluation input (benchmark name, missing file, bad column): a one-line message."""


@dataclass(frozen=True)
class EvalItem:
    """One problem: its row position (the resume key), chat messages and bare answer."""

    index: int
    messages: tuple[dict[str, str], ...]
    ground_truth: str

    @property
    def problem(self) -> str:
        return self.messages[-1]["content"]


def registry() -> Registry:
    """The benchmark registry, with its errors turned into evaluation errors."""
    try:
        return load_registry()
    except InputError as exc:
        raise EvalInputError(str(exc)) from exc


def resolve_names(requested: str | Sequence[str] | None, reg: Registry | None = None) -> list[str]:
    """Benchmark names to run, in the registry's (published) order; None or "all" = the nine."""
    reg = reg or registry()
    if requested is None or requested == "all":
        return reg.names
    names = [requested] if isinstance(requested, str) else list(requested)
    known = {**reg.benchmarks, **reg.extras}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise EvalInputError(f"unknown benchmark {unknown[0]!r}; expected one of {', '.join(known)}")
    order = list(known)
    return sorted(dict.fromkeys(names), key=order.index)


def samples_per_problem(name: str, reg: Registry | None = None) -> int:
    """N of the JustRL protocol for this benchmark (32 or 4)."""
    reg = reg or registry()
    return reg.get(name).samples


def benchmark_path(name: str, data_dir: str | Path) -> Path:
    """Where `justrl-prep benchmarks` writes the veRL-schema parquet of a benchmark."""
    return Path(data_dir) / "benchmarks" / f"{name}.parquet"


def val_files(names: str | Sequence[str] | None, data_dir: str | Path) -> list[str]:
    """Parquet paths for veRL's `data.val_files`, so in-training validation reads the same files."""
    return [str(benchmark_path(name, data_dir)) for name in resolve_names(names)]


def _item(index: int, row: dict[str, Any], path: Path) -> EvalItem:
    try:
        messages = tuple({"role": str(m["role"]), "content": str(m["content"])} for m in row["prompt"])
        ground_truth = str(row["reward_model"]["ground_truth"])
    except (KeyError, TypeError) as exc:
        raise EvalInputError(
            f"{path} row {index}: expected veRL columns prompt (chat messages) and "
            f"reward_model.ground_truth ({exc!r}); rebuild it with `justrl-prep benchmarks`"
        ) from exc
    if not messages:
        raise EvalInputError(f"{path} row {index}: empty prompt; rebuild it with `justrl-prep benchmarks`")
    return EvalItem(index=index, messages=messages, ground_truth=ground_truth)


def load_items(name: str, data_dir: str | Path, limit: int | None = None) -> list[EvalItem]:
    """The problems of one prepared benchmark file (the first `limit` for smoke runs)."""
    import pandas as pd

    path = benchmark_path(name, data_dir)
    if not path.is_file():
        raise EvalInputError(f"benchmark file {path} not found; run `justrl-prep benchmarks` first")
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # corrupt pages, or parts whose schemas differ (ArrowInvalid)
        raise EvalInputError(f"{path} cannot be read ({' '.join(str(exc).split())}); rebuild it with `justrl-prep benchmarks`") from None
    if limit is not None:
        frame = frame.head(limit)
    return [_item(i, row, path) for i, row in enumerate(frame.to_dict("records"))]
