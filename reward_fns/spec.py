"""The reward spec: ``reward.custom_reward_function.reward_kwargs`` read into one typed value.

veRL hands ``reward_kwargs`` to the reward function unread, so a misspelt choice, a string where
a list belongs or a key with a typo would otherwise reach every reward call and quietly grade a
whole run wrong. The spec is the correctness term's options at the top level and the other
terms under ``terms``, keyed by name (a mapping, not a list: Hydra merges a recipe's layer and a
command-line override into one term by its name, ``...terms.format.weight=0.1``; a term set to
null is dropped). Names, types and defaults are read from the term functions
(``reward_fns.terms``), so ``justrl-check`` and the adapter check the same declaration.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reward_fns import terms as _builtin_terms  # noqa: F401  (registers the terms)
from reward_fns.checks import number
from reward_fns.term_registry import TERMS, Option

BASE = "correctness"
TERMS_KEY = "terms"
WEIGHT = "weight"
_weight = number(low=0.0)
# The flat keys of the reward settings before the spec named its terms, and where each lives now:
# a config written for the old layout is told where to move each key instead of "unknown setting".
MOVED = {
    "format_weight": "terms.format.weight",
    "think_check": "terms.format.think_check",
    "think_opened_by_prompt": "terms.format.think_opened_by_prompt",
    "redundancy_weight": "terms.redundancy.weight",
    "redundancy_threshold": "terms.redundancy.threshold",
    "redundancy_method": "terms.redundancy.method",
}


class RewardSettingError(ValueError):
    """A reward setting with a bad name, type or value; the message names each and what fits."""


@dataclass(frozen=True)
class TermSpec:
    name: str
    weight: float
    options: Mapping[str, object]


@dataclass(frozen=True)
class RewardSpec:
    """Correctness' options (defaults filled in) and the weighted terms, in the order listed."""

    correctness: Mapping[str, object]
    terms: tuple[TermSpec, ...]


def _plain(value: object) -> object:
    """OmegaConf containers as plain mappings and tuples: the terms are pure functions of values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_plain(v) for v in value)
    return value


def _unknown(name: str, known: Sequence[str], where: str, what: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {where}{close[0]}?)" if close else ""
    return f"{where}{name}: unknown {what}{hint}; expected one of {', '.join(known)}"


def _read(
    values: Mapping, options: Mapping[str, Option], where: str, skip: Sequence[str], also: Sequence[str] = ()
) -> tuple[dict, list[str]]:
    """Each option's value (its default where absent) and every problem, one line each."""
    found, problems = {name: option.default for name, option in options.items()}, []
    for name, value in values.items():
        name = str(name)
        if name in skip:
            continue
        if name not in options:
            problems.append(_unknown(name, [*options, *also], where, "setting"))
            continue
        check = options[name].check
        if isinstance(check, Mapping):
            if not isinstance(value, Mapping):
                problems.append(f"{where}{name}={value!r}: expected a mapping of option: value")
                continue
            sub = {key: Option(object, row, None) for key, row in check.items()}
            given, sub_problems = _read(value, sub, f"{where}{name}.", ())
            problems += sub_problems
            found[name] = {key: given[key] for key in map(str, value) if key in sub}
            continue
        expected = check(value)
        if expected is not None:
            problems.append(f"{where}{name}={value!r}: expected {expected}")
        found[name] = _plain(value)
    return found, problems


def _terms(values: object, where: str) -> tuple[list[TermSpec], list[str]]:
    if not isinstance(values, Mapping):
        return [], [f"{where}={values!r}: expected a mapping of term name: {{weight: ..., options}}"]
    names = [name for name in TERMS if name != BASE]
    specs, problems = [], []
    for name, entry in values.items():
        name, here = str(name), f"{where}.{name}"
        if entry is None:
            continue  # a term set to null is off
        if name not in names:
            problems.append(_unknown(name, names, f"{where}.", "term"))
            continue
        if not isinstance(entry, Mapping) or WEIGHT not in entry:
            problems.append(f"{here}={entry!r}: expected a mapping with a weight and the term's options")
            continue
        expected = _weight(entry[WEIGHT])
        if expected is not None:
            problems.append(f"{here}.{WEIGHT}={entry[WEIGHT]!r}: expected {expected}")
        options, found = _read(entry, TERMS[name].options, f"{here}.", (WEIGHT,))
        problems += found
        specs.append(TermSpec(name, float(entry[WEIGHT]) if expected is None else 0.0, options))
    return specs, problems


def parse(kwargs: Mapping, where: str = "", ignore: Sequence[str] = ()) -> tuple[RewardSpec, list[str]]:
    """The spec these reward_kwargs describe and every problem with them, one line each.

    ``where`` prefixes each key (the config path, in ``justrl-check``); ``ignore`` names
    call-time keyword arguments that are not settings.
    """
    moved = [f"{where}{name}: moved to {where}{MOVED[name]}" for name in map(str, kwargs) if name in MOVED]
    correctness, problems = _read(kwargs, TERMS[BASE].options, where, (*ignore, TERMS_KEY, *MOVED), also=(TERMS_KEY,))
    problems = moved + problems
    specs, found = _terms(kwargs.get(TERMS_KEY, {}), f"{where}{TERMS_KEY}")
    return RewardSpec(correctness, tuple(specs)), problems + found


def problems(kwargs: Mapping, where: str = "", ignore: Sequence[str] = ()) -> list[str]:
    """Every problem with these reward_kwargs, one line each (empty when all are valid)."""
    return parse(kwargs, where, ignore)[1]


def build(kwargs: Mapping, ignore: Sequence[str] = ()) -> RewardSpec:
    """The spec, or RewardSettingError with every problem on one line."""
    spec, problems = parse(kwargs, ignore=ignore)
    if problems:
        raise RewardSettingError("bad reward setting: " + "; ".join(problems))
    return spec
