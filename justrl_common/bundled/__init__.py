"""Small public data shipped inside the project, so that offline use and the tests need nothing
outside the clone: the nine JustRL benchmark files (thunlp/JustRL data/, JustRL-format parquet)
and the recorded per-step metrics of JustTinker's exp 001 (the collapse). See docs/published.md.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _folder(name: str) -> Path:
    return Path(str(resources.files(__name__).joinpath(name)))


def benchmarks_dir() -> Path:
    """The JustRL-format benchmark copies: `<folder>/test.parquet` as configs/benchmarks.yaml lists them."""
    return _folder("benchmarks")


def histories_dir() -> Path:
    """JustTinker's recorded histories (column-oriented JSON, read by justrl-monitor and justrl-plot)."""
    return _folder("histories")
