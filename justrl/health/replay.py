"""Replay a recorded run through the monitor: what it would have warned about, and when it would stop."""

from __future__ import annotations

from dataclasses import dataclass, field

from justrl.health.history import History
from justrl.health.monitor import HealthMonitor, StopDecision
from justrl.health.rules import HealthWarning


@dataclass
class ReplayResult:
    warnings: list[HealthWarning] = field(default_factory=list)
    stop: StopDecision | None = None
    steps_seen: int = 0


def replay(history: History, monitor: HealthMonitor) -> ReplayResult:
    """Feed each recorded step to `monitor` (a fresh one); stop where it would stop."""
    result = ReplayResult()
    for step, metrics in history:
        obs = monitor.observe(step, metrics)
        result.warnings.extend(obs.warnings)
        result.steps_seen += 1
        if obs.stop is not None:
            result.stop = obs.stop
            break
    return result
