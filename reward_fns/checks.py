"""Checks of one setting's value: each returns what was expected when the value does not fit, else None.

Shared by the reward spec (``reward_fns.spec``) and the terms' option annotations
(``reward_fns.terms``), so a type, a range or a registry's choices are written once.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Mapping, Sequence

# A check returns what was expected when the value does not fit, else None.
Check = Callable[[object], "str | None"]

def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(low: float | None = None, high: float | None = None) -> Check:
    """A finite number, within ``[low, high]`` where given."""
    if high is not None:
        bounds = f" in [{low}, {high}]"
    else:
        bounds = f" >= {low}" if low is not None else ""

    def check(value: object) -> str | None:
        fits = _finite(value) and (low is None or value >= low) and (high is None or value <= high)
        return None if fits else f"a finite number{bounds}"

    return check


def positive(kind: type) -> Check:
    """A positive integer (``int``) or a positive finite number (``float``)."""

    def check(value: object) -> str | None:
        fits = _finite(value) and value > 0 and (kind is float or isinstance(value, int))
        return None if fits else ("a positive integer" if kind is int else "a positive finite number")

    return check


def boolean(value: object) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def mapping(value: object) -> str | None:
    return None if isinstance(value, Mapping) else "a mapping of option: value"


def string_list(value: object) -> str | None:
    """A list of names; a lone string is refused (it would be read as its characters)."""
    fits = isinstance(value, Sequence) and not isinstance(value, str) and all(isinstance(v, str) for v in value)
    return None if fits else "a list of data-source names, e.g. [math_dapo]"


def choice(options: Callable[[], Collection[str]]) -> Check:
    """One of a registry's names, read at check time."""

    def check(value: object) -> str | None:
        names = list(options())
        if isinstance(value, str) and value in names:
            return None
        close = difflib.get_close_matches(str(value), names, n=1)
        return f"one of {', '.join(names)}" + (f" (did you mean {close[0]}?)" if close else "")

    return check
