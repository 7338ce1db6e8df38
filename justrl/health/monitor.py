"""The health monitor: feed it one metric dict per step, get warnings and, maybe, a stop decision.

Early stopping has two triggers, both from JustTinker's post-mortem: validation accuracy staying at
least `val_drop` below its best for `val_patience` consecutive validations, and a chosen set of
health rules firing on `patience` consecutive training steps. Consecutive, because one bad batch of
256 responses is noise; three in a row is a trend worth a checkpoint and a human.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from justrl.health.rules import HealthWarning, Rule, RuleError, build_rules

# Comparisons of accuracies that are exact multiples of 1/N in binary floating point.
_EPS = 1e-9


@dataclass(frozen=True)
class EarlyStopConfig:
    enabled: bool = False
    val_metric: str = "justrl/val/accuracy"
    val_drop: float = 0.05
    val_patience: int = 3
    rules: tuple[str, ...] = ()
    patience: int = 3

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any] | None) -> EarlyStopConfig:
        spec = dict(spec or {})
        unknown = set(spec) - set(cls.__dataclass_fields__)
        if unknown:
            raise RuleError(f"early_stop: unknown keys {sorted(unknown)}; expected {sorted(cls.__dataclass_fields__)}")
        for name, value in spec.items():
            default = cls.__dataclass_fields__[name].default
            if name != "rules" and not _same_kind(value, default):
                raise RuleError(f"early_stop.{name}={value!r}: expected {_KIND_NAMES[type(default)]}")
        if "rules" in spec:
            spec["rules"] = tuple(str(r) for r in spec["rules"] or ())
        return cls(**spec)


_KIND_NAMES = {bool: "true or false", str: "a string", int: "an integer", float: "a number"}


def _same_kind(value: object, default: object) -> bool:
    """`patience=abc` from the command line must fail here, not as a TypeError mid-replay."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


@dataclass(frozen=True)
class StopDecision:
    step: int
    reason: str

    @property
    def line(self) -> str:
        return f"[justrl health] EARLY STOP at step {self.step}: {self.reason}"


@dataclass
class Observation:
    warnings: list[HealthWarning] = field(default_factory=list)
    stop: StopDecision | None = None


class HealthMonitor:
    """Stateful judge of a run; knows nothing of veRL, so replay and tests drive it the same way."""

    def __init__(self, rules: list[Rule], early_stop: EarlyStopConfig):
        names = [r.name for r in rules]
        missing = [n for n in early_stop.rules if n not in names]
        if missing:
            raise RuleError(f"early_stop.rules names unknown rules {missing}; defined rules: {names}")
        self.rules = rules
        self.early_stop = early_stop
        depth = max((r.history_needed for r in rules), default=0)
        self._past: deque[Mapping[str, float]] = deque(maxlen=max(depth, 1))
        self.val_history: list[tuple[int, float]] = []
        self.val_drop_streak = 0
        self.unhealthy_streak = 0
        self.warning_count = 0
        self.stopped: StopDecision | None = None

    @classmethod
    def from_config(cls, health: Mapping[str, Any]) -> HealthMonitor:
        """From the `justrl.health` mapping of the YAML config (a plain dict or an OmegaConf node)."""
        return cls(build_rules(health.get("rules")), EarlyStopConfig.from_mapping(health.get("early_stop")))

    @property
    def best_val(self) -> tuple[int, float] | None:
        return max(self.val_history, key=lambda sv: sv[1], default=None)

    def observe(self, step: int, metrics: Mapping[str, float]) -> Observation:
        """Judge one step's metrics (training and, on validation steps, validation metrics)."""
        obs = Observation()
        fired: set[str] = set()
        evaluated: set[str] = set()
        for rule in self.rules:
            result = rule.check(step, metrics, self._past)
            if result is not None:
                evaluated.add(rule.name)
            if isinstance(result, HealthWarning):
                obs.warnings.append(result)
                fired.add(rule.name)
        self._past.append(dict(metrics))
        self.warning_count += len(obs.warnings)
        stop_rules = set(self.early_stop.rules)
        if stop_rules & evaluated:
            self.unhealthy_streak = self.unhealthy_streak + 1 if stop_rules & fired else 0
        val_reason = self._observe_validation(step, metrics)
        if self.early_stop.enabled and self.stopped is None:
            reason = val_reason or self._rules_reason(fired & stop_rules)
            if reason:
                self.stopped = obs.stop = StopDecision(step, reason)
        return obs

    def _observe_validation(self, step: int, metrics: Mapping[str, float]) -> str | None:
        value = metrics.get(self.early_stop.val_metric)
        if value is None or (self.val_history and self.val_history[-1][0] == step):
            return None
        self.val_history.append((step, float(value)))
        best_step, best = self.best_val
        if best - value >= self.early_stop.val_drop - _EPS:
            self.val_drop_streak += 1
        else:
            self.val_drop_streak = 0
        if self.val_drop_streak < self.early_stop.val_patience:
            return None
        recent = ", ".join(f"{v:.3f} (step {s})" for s, v in self.val_history[-self.val_drop_streak :])
        return (
            f"{self.early_stop.val_metric} stayed at least {self.early_stop.val_drop:.3f} below its best "
            f"{best:.3f} (step {best_step}) for {self.val_drop_streak} consecutive validations: {recent}"
        )

    def _rules_reason(self, fired_stop_rules: set[str]) -> str | None:
        if self.unhealthy_streak < self.early_stop.patience or not self.early_stop.rules:
            return None
        names = ", ".join(sorted(fired_stop_rules))
        return f"health rules fired on {self.unhealthy_streak} consecutive steps (now: {names})"

    def health_metrics(self) -> dict[str, float]:
        """Scalars for the loggers, so a dashboard shows how close the run is to stopping."""
        out = {
            "justrl/health/warnings": float(self.warning_count),
            "justrl/health/unhealthy_streak": float(self.unhealthy_streak),
            "justrl/health/val_drop_streak": float(self.val_drop_streak),
            "justrl/health/stopped": float(self.stopped is not None),
        }
        if self.best_val is not None:
            out["justrl/health/best_val"] = self.best_val[1]
        return out

    def state_dict(self) -> dict[str, Any]:
        """What must survive a resume: the validation history that defines 'best'.

        Streaks are deliberately not kept: a resume (typically after an early stop, with changed
        settings) must see the drop persist again before it stops the run a second time.
        """
        return {"val_history": [list(sv) for sv in self.val_history]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.val_history = [(int(s), float(v)) for s, v in state.get("val_history", [])]
