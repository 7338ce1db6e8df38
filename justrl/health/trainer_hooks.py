"""The health monitor inside a veRL v1 trainer: what `JustRLTrainer` calls, in a few lines each.

veRL stores each rollout in TransferQueue with the reward adapter's dict under
`extra_fields["reward_extra_info"]`, the prompt's `uid` (its GRPO group) and `data_source`, and tags
it with `response_len`; `TrainingHealth.train_metrics` turns those into the `justrl/` metrics. On a
stop decision the trainer saves a checkpoint and ends its loop; the reason goes to the console, to
W&B as an alert, and to `<trainer.default_local_dir>/early_stop.json`, which the driver reads to print
the reason as its last line (the trainer itself runs inside a Ray actor).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from justrl.health.alerts import emit
from justrl.health.metrics import records_from_rollouts, step_metrics
from justrl.health.monitor import HealthMonitor, StopDecision

# What `_compute_metrics` must fetch from TransferQueue for `train_metrics`.
TRAIN_FIELDS = ["extra_fields", "data_source", "uid"]
STOP_RECORD = "early_stop.json"
STATE_FILE = "justrl_health.json"


def read_stop_record(run_dir: str | Path) -> dict[str, Any] | None:
    """The early-stop record a run left in its checkpoint folder, if it stopped early."""
    path = Path(run_dir) / STOP_RECORD
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


class TrainingHealth:
    """Per-run glue: the monitor, its alerts, the stop record and the monitor state in checkpoints."""

    def __init__(self, health: Mapping[str, Any], max_response_length: int, run_dir: str | Path):
        self.monitor = HealthMonitor.from_config(health)
        self.max_response_length = int(max_response_length)
        self.run_dir = Path(run_dir)
        self.alert_wait_seconds = float(health.get("alert_wait_seconds", 0))

    @classmethod
    def from_trainer_config(cls, config: DictConfig) -> TrainingHealth | None:
        """From the full veRL config; None when `justrl.health` is absent or `enabled: false`."""
        health = OmegaConf.select(config, "justrl.health")
        if health is None or not health.get("enabled", True):
            return None
        health = OmegaConf.to_container(health, resolve=True)
        return cls(health, config.data.max_response_length, config.trainer.default_local_dir)

    def train_metrics(self, fields: Mapping[str, Sequence[Any]], tags: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        """`justrl/` metrics of a training batch from its TransferQueue fields (lists) and tags."""
        keep = [i for i, tag in enumerate(tags) if not tag.get("is_padding", False)]
        records = records_from_rollouts(
            (fields["extra_fields"][i] for i in keep),
            (fields["data_source"][i] for i in keep),
            (fields["uid"][i] for i in keep),
            (tags[i]["response_len"] for i in keep),
        )
        return step_metrics(records, self.max_response_length)

    def observe(self, step: int, metrics: dict[str, float]) -> StopDecision | None:
        """Judge the step, alert on each warning, add `justrl/health/*` to `metrics`, record a stop."""
        obs = self.monitor.observe(step, metrics)
        for warning in obs.warnings:
            emit(warning.line, f"justrl health: {warning.rule}", "WARN", self.alert_wait_seconds)
        metrics.update(self.monitor.health_metrics())
        if obs.stop is not None:
            emit(obs.stop.line, "justrl early stop", "ERROR")
            self.run_dir.mkdir(parents=True, exist_ok=True)
            record = {"step": obs.stop.step, "reason": obs.stop.reason, "line": obs.stop.line}
            (self.run_dir / STOP_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
        return obs.stop

    def clear_stop_record(self) -> None:
        """At (re)start: a stop record from an earlier attempt must not be reported for this one."""
        (self.run_dir / STOP_RECORD).unlink(missing_ok=True)

    def save_state(self, checkpoint_folder: str | Path) -> None:
        folder = Path(checkpoint_folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / STATE_FILE).write_text(json.dumps(self.monitor.state_dict()), encoding="utf-8")

    def load_state(self, checkpoint_folder: str | Path) -> None:
        path = Path(checkpoint_folder) / STATE_FILE
        if path.is_file():
            self.monitor.load_state_dict(json.loads(path.read_text(encoding="utf-8")))
