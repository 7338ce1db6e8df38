"""Health rules built from YAML (`justrl.health.rules`): thresholds, conjunctions and trends.

Each rule looks at the metric dict of one step (and, for trends, the steps before it) and returns a
`HealthWarning` or nothing. A rule whose metrics are missing from a step neither fires nor clears,
so a run logged without some diagnostics is judged only on what it has.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


class RuleError(ValueError):
    """A rule in the configuration that cannot be understood; the message names it."""


@dataclass(frozen=True)
class HealthWarning:
    """One fired rule at one step; `line` is what the user reads."""

    step: int
    rule: str
    detail: str

    @property
    def line(self) -> str:
        return f"[justrl health] WARNING step {self.step}: {self.rule}: {self.detail}"


class Rule(Protocol):
    name: str

    @property
    def history_needed(self) -> int:
        """How many earlier steps the rule looks at."""

    def check(
        self, step: int, current: Mapping[str, float], past: Sequence[Mapping[str, float]]
    ) -> HealthWarning | bool | None:
        """A warning when it fires, False when it does not, None when the step lacks its metrics."""


def _fmt(value: float) -> str:
    return f"{value:.4g}"


@dataclass(frozen=True)
class Condition:
    metric: str
    op: str
    threshold: float

    def holds(self, metrics: Mapping[str, float]) -> bool | None:
        value = metrics.get(self.metric)
        return None if value is None else OPERATORS[self.op](value, self.threshold)

    def describe(self, metrics: Mapping[str, float]) -> str:
        return f"{self.metric} = {_fmt(metrics[self.metric])} {self.op} threshold {_fmt(self.threshold)}"


@dataclass(frozen=True)
class ThresholdRule:
    """Fires when all its conditions hold at one step (one condition is the common case)."""

    name: str
    conditions: tuple[Condition, ...]
    history_needed = 0

    def check(self, step, current, past):
        results = [c.holds(current) for c in self.conditions]
        if any(r is None for r in results):
            return None
        if not all(results):
            return False
        return HealthWarning(step, self.name, " and ".join(c.describe(current) for c in self.conditions))


@dataclass(frozen=True)
class TrendRule:
    """Fires when one metric rises while another falls, comparing the last `window` steps to the
    `window` before them: window means, not single steps, because per-step accuracy of a 256-response
    batch moves by several points from noise alone."""

    name: str
    rising: str
    falling: str
    window: int
    min_rise: float
    min_fall: float

    def check(self, step, current, past):
        if self.rising not in current or self.falling not in current:
            return None
        rows = [m for m in (*past, current) if self.rising in m and self.falling in m][-2 * self.window :]
        if len(rows) < 2 * self.window:
            return False
        before, recent = rows[: self.window], rows[self.window :]

        def mean(block, key):
            return sum(m[key] for m in block) / len(block)

        rise = mean(recent, self.rising) / mean(before, self.rising) - 1.0
        fall = mean(before, self.falling) - mean(recent, self.falling)
        if rise >= self.min_rise and fall >= self.min_fall:
            return HealthWarning(
                step,
                self.name,
                f"{self.rising} rose {rise:.1%} (threshold {self.min_rise:.0%}) while {self.falling} fell "
                f"{fall:.3f} (threshold {self.min_fall:.3f}), last {self.window} steps vs the {self.window} before",
            )
        return False

    @property
    def history_needed(self) -> int:
        return 2 * self.window - 1


def _condition(name: str, spec: Mapping[str, Any]) -> Condition:
    try:
        metric, op, threshold = spec["metric"], spec["op"], float(spec["threshold"])
    except (KeyError, TypeError, ValueError):
        raise RuleError(
            f"rule {name!r}: expected metric, op and a numeric threshold, got {dict(spec)!r}"
        ) from None
    if op not in OPERATORS:
        raise RuleError(f"rule {name!r}: op {op!r} is not one of {', '.join(OPERATORS)}")
    return Condition(str(metric), op, threshold)


def build_rule(name: str, spec: Mapping[str, Any]) -> Rule:
    """One rule from its YAML mapping: `{metric, op, threshold}`, `{all: [...]}` or `{trend: {...}}`."""
    if not isinstance(spec, Mapping):
        raise RuleError(f"rule {name!r}: expected a mapping, got {spec!r}")
    if "trend" in spec:
        t = spec["trend"]
        try:
            return TrendRule(
                name, str(t["rising"]), str(t["falling"]), int(t["window"]), float(t["min_rise"]), float(t["min_fall"])
            )
        except (KeyError, TypeError, ValueError):
            raise RuleError(
                f"rule {name!r}: trend needs rising, falling, window, min_rise, min_fall; got {dict(t)!r}"
            ) from None
    if "all" in spec:
        return ThresholdRule(name, tuple(_condition(name, c) for c in spec["all"]))
    return ThresholdRule(name, (_condition(name, spec),))


def build_rules(specs: Mapping[str, Any] | None) -> list[Rule]:
    """All rules of a config, in order; a rule set to null (e.g. `justrl.health.rules.X=null`) is off."""
    return [build_rule(str(name), spec) for name, spec in (specs or {}).items() if spec is not None]
