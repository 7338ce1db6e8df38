"""The reward's terms by name: each a pure function of (response, ground truth, options).

A term is registered with ``@term("name")``; its keyword-only parameters *are* its options, with
their types (``Annotated[type, check]`` where a value needs more than its type) and defaults, so
an option is declared once, in the function, and ``justrl-check`` and the adapter read it from
there. The adapter adds ``weight * value`` of each term the spec lists to the correctness score
(TRL's ``reward_funcs`` / ``reward_weights``), in the order the spec lists them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, get_args, get_origin, get_type_hints

from reward_fns.checks import Check


@dataclass(frozen=True)
class Response:
    """What a term sees of one response.

    ``solution`` is what veRL handed over (possibly not a string); ``text`` is the response as
    measured text ("" where it is not a string or is over the verifiers' size limit). ``correct``
    is the correctness term's verdict (None while that term runs). ``length`` and ``max_length``
    are the response's tokens and the rollout's cap, where the reward manager reports them
    (``justrl.reward_manager``; None otherwise).
    """

    solution: object
    text: str
    data_source: str
    correct: bool | None = None
    length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class TermValue:
    """A term's value (the adapter multiplies it by the term's weight) and what it measured."""

    value: float
    diagnostics: Mapping[str, object] = field(default_factory=dict)


TermFn = Callable[..., TermValue]


@dataclass(frozen=True)
class Option:
    """One option of a term: its type, the check beyond the type, its default."""

    kind: type
    check: Check | Mapping[str, Check]  # a mapping: a table of sub-options, each with its check
    default: object


@dataclass(frozen=True)
class Term:
    name: str
    fn: TermFn
    options: Mapping[str, Option]
    # The diagnostics reported when the term fails (no response makes the reward raise): every
    # response then carries the same keys, which veRL's per-key columns need.
    unmeasured: Mapping[str, object]
    # Whether it reads the response's token counts, which only justrl's reward manager passes.
    needs_tokens: bool = False


TERMS: dict[str, Term] = {}


def _options(fn: TermFn) -> dict[str, Option]:
    hints = get_type_hints(fn, include_extras=True)
    found = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind is not param.KEYWORD_ONLY:
            continue
        hint = hints[param.name]
        if get_origin(hint) is not Annotated:
            raise TypeError(f"term option {fn.__name__}({param.name}): annotate it Annotated[type, check]")
        kind, check = get_args(hint)[:2]
        found[param.name] = Option(get_origin(kind) or kind, check, param.default)
    return found


def term(name: str, unmeasured: Mapping[str, object] | None = None, needs_tokens: bool = False) -> Callable[[TermFn], TermFn]:
    """Register a term under ``name``; its keyword-only parameters become its typed options."""

    def register(fn: TermFn) -> TermFn:
        TERMS[name] = Term(name, fn, _options(fn), dict(unmeasured or {}), needs_tokens)
        return fn

    return register
