"""One output path for progress bars and printed lines.

In a terminal the bars are tqdm's, and every line goes through `say` (tqdm.write), which clears the
bars, prints and redraws them, so a line never lands inside a bar. Elsewhere (a pipe, a Slurm log,
a CI capture) a bar's carriage returns only garble the log, so there is none: `LineProgress` prints
a plain line at most every `progress_interval_s` seconds (configs/output.yaml) and one when the
work completes, and nothing for work cut short, whose error line then stays the last word.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm import tqdm

from justrl_common.config import load_yaml


def say(message: str, file: TextIO | None = None) -> None:
    """Print one line without breaking a progress bar (stdout unless `file` says otherwise)."""
    tqdm.write(message, file=file if file is not None else sys.stdout)


class LineProgress:
    """tqdm's update/close/iteration/context use, as whole lines on stderr."""

    def __init__(
        self, iterable: Iterable | None, total: int | None, initial: int, desc: str, unit: str, interval_s: float
    ) -> None:
        self.iterable, self.total, self.n, self.desc, self.unit = iterable, total, initial, desc, unit.strip()
        self.interval_s, self.start = interval_s, time.monotonic()
        self.last, self.shown, self.closed = self.start, None, False
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            self.total = len(iterable)

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable or ():
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def line(self) -> str:
        done = f"{self.n:,}/{self.total:,}" if self.total else f"{self.n:,}"
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        return f"{self.desc}: {done} {self.unit}{share}, {time.monotonic() - self.start:.0f}s"

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.interval_s:
            self.last = now
            self._show()

    def _show(self) -> None:
        self.shown = self.n
        say(self.line(), file=sys.stderr)

    def close(self) -> None:
        if not self.closed and self.shown != self.n and (self.total is None or self.n >= self.total):
            self._show()
        self.closed = True


def progress_bar(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    initial: int = 0,
    desc: str = "",
    unit: str = "it",
    position: int | None = None,
    disable: bool = False,
) -> tqdm | LineProgress:
    """A tqdm bar in a terminal, plain periodic lines elsewhere, nothing when disabled."""
    if disable or sys.stderr.isatty():
        return tqdm(iterable, total=total, initial=initial, desc=desc, unit=unit, position=position, disable=disable)
    interval = float(load_yaml("output.yaml")["progress_interval_s"])
    return LineProgress(iterable, total, initial, desc, unit, interval)
