"""The reward settings (``reward_kwargs``) the adapter accepts: name, type and choices of each, in one table.

veRL hands ``reward.custom_reward_function.reward_kwargs`` to the reward function unread, so a
misspelt choice (``redundancy_method=justtinkr``), a string where a list belongs
(``training_sources=math_dapo``) or a new key with a typo would otherwise reach every reward call
and quietly grade a whole run wrong. ``justrl-check`` and the adapter's calls both check against
this table. A setting's choices are read from the registry that implements them (``VERIFIERS``,
``redundancy.METHODS``) when checked, so a newly registered verifier or method is accepted at once;
a new setting is one more row of ``SETTINGS`` (or ``VERIFIER_OPTIONS``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Mapping, Sequence

from reward_fns import redundancy
from reward_fns.format import THINK_CHECKS
from reward_fns.verify import VERIFIERS

# A check returns what was expected when the value does not fit, else None.
Check = Callable[[object], "str | None"]

# Keyword arguments veRL's reward loop adds at call time (a reward-model router); not settings.
VERL_CALL_KWARGS = ("reward_router_address", "reward_model_tokenizer")


class RewardSettingError(ValueError):
    """A reward setting with a bad name, type or value; the message names each and what fits."""


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


# The options the verifiers of reward_fns.verify take (`verifier_options`).
VERIFIER_OPTIONS: dict[str, Check] = {
    "timeout_s": positive(float),
    "workers": positive(int),
    "memory_mb": positive(int),
    "tail_chars": positive(int),
    "max_response_chars": positive(int),
    "precheck": boolean,
    "strict_box": boolean,
}

# Every keyword setting of reward_fns.adapter.compute_score.
SETTINGS: dict[str, Check] = {
    "training_sources": string_list,
    "verifier": choice(lambda: VERIFIERS),
    "training_verifier": choice(lambda: VERIFIERS),
    "correct_score": number(),
    "incorrect_score": number(),
    "format_weight": number(low=0.0),
    "redundancy_weight": number(low=0.0),
    "redundancy_threshold": number(low=0.0, high=1.0),
    "redundancy_method": choice(lambda: redundancy.METHODS),
    "think_check": choice(lambda: THINK_CHECKS),
    "think_opened_by_prompt": boolean,
    "verifier_options": mapping,
}


def _check_rows(values: Mapping, rows: dict[str, Check], where: str, ignore: Sequence[str]) -> list[str]:
    found = []
    for name, value in values.items():
        name = str(name)
        if name in ignore:
            continue
        if name not in rows:
            close = difflib.get_close_matches(name, list(rows), n=1)
            hint = f" (did you mean {where}{close[0]}?)" if close else ""
            found.append(f"{where}{name}: unknown setting{hint}; expected one of {', '.join(rows)}")
            continue
        expected = rows[name](value)
        if expected is not None:
            found.append(f"{where}{name}={value!r}: expected {expected}")
    return found


def problems(kwargs: Mapping, where: str = "", ignore: Sequence[str] = ()) -> list[str]:
    """Every problem with these reward settings, one line each (empty when all are valid).

    ``where`` prefixes each key (the config path, in ``justrl-check``); ``ignore`` names
    call-time keyword arguments that are not settings.
    """
    found = _check_rows(kwargs, SETTINGS, where, ignore)
    options = kwargs.get("verifier_options")
    if isinstance(options, Mapping):
        found += _check_rows(options, VERIFIER_OPTIONS, f"{where}verifier_options.", ())
    return found


def require_valid(kwargs: Mapping) -> None:
    """Raise RewardSettingError, every problem on one line, unless the settings are valid."""
    found = problems(kwargs, ignore=VERL_CALL_KWARGS)
    if found:
        raise RewardSettingError("bad reward setting: " + "; ".join(found))
