"""The health monitor inside veRL's v1 trainer, as one callback object the trainer holds (the shape of
veRL's own `checkpoint_callback`): `JustRLTrainer` calls one hook per override, after `super()`, so
veRL's loop runs unchanged and the monitor only reads what it produced.

Where each piece hooks in (veRL 0.9.1 `verl/trainer/ppo/v1/trainer_base.py`):
- `_compute_metrics` runs once per step after training and validation, before the loggers: fetch the
  step's reward diagnostics from TransferQueue, add the `justrl/` metrics, let the monitor judge.
- `_val_metrics_update` is where `_validate` turns per-response reward info into metrics: add the
  per-benchmark `justrl/val/` metrics.
- Early stop: save a checkpoint (unless this step already saved one) and set `total_training_steps`
  to the current step, so veRL's `while` loop ends after this step and calls `on_train_end`, which
  prints the reason as the trainer's last line.
- `_save_checkpoint` / `_load_checkpoint`: the monitor's validation history travels with checkpoints.

With the monitor off (`justrl.health` absent or `enabled: false`) the trainer holds the no-op base
class, as veRL does for an unset checkpoint callback, so no call site needs a None guard.
"""

from __future__ import annotations

import os
from typing import Any

from omegaconf import DictConfig

from justrl.health.metrics import validation_metrics
from justrl.health.monitor import StopDecision
from justrl.health.trainer_hooks import TRAIN_FIELDS, TrainingHealth
from justrl.loop_control import end_after_this_step


class HealthCallback:
    """The monitor off: every hook does nothing."""

    health: TrainingHealth | None = None

    def after_load_checkpoint(self, trainer: Any) -> None:
        pass

    def after_save_checkpoint(self, trainer: Any) -> None:
        pass

    def add_validation_metrics(self, trainer: Any, data_sources: Any, reward_extra_infos_dict: Any, metrics: dict) -> None:
        pass

    def on_train_begin(self, trainer: Any) -> None:
        pass

    def after_compute_metrics(self, trainer: Any, batch: Any, metrics: dict, global_steps: int) -> None:
        pass

    def on_train_end(self, trainer: Any) -> None:
        pass


def _step_folder(trainer: Any) -> str:
    return os.path.join(trainer.config.trainer.default_local_dir, f"global_step_{trainer.global_steps}")


def _as_list(values: Any) -> list:
    """A non-tensor TransferQueue field as a plain list.

    SimpleStorage hands these back as tensordict's `LinkedList` (a `list` without `.tolist()`); other
    backends give a `NonTensorStack` or a numpy array, whose `.tolist()` unwraps the items.
    """
    return values.tolist() if hasattr(values, "tolist") else list(values)


class MonitorCallback(HealthCallback):
    """The monitor on: it judges each step, keeps its state with the checkpoints, and can end the run."""

    def __init__(self, health: TrainingHealth) -> None:
        self.health = health
        self.stop: StopDecision | None = None
        self.last_val: tuple[int, dict] | None = None  # the newest validation: (step, its metrics)
        self.saved_step: int | None = None

    def after_load_checkpoint(self, trainer: Any) -> None:
        if trainer.global_steps == 0:
            return
        resume = trainer.config.trainer
        self.health.load_state(resume.resume_from_path if resume.resume_mode == "resume_path" else _step_folder(trainer))

    def after_save_checkpoint(self, trainer: Any) -> None:
        self.health.save_state(_step_folder(trainer))
        self.saved_step = trainer.global_steps

    def add_validation_metrics(self, trainer: Any, data_sources: Any, reward_extra_infos_dict: Any, metrics: dict) -> None:
        metrics.update(validation_metrics(data_sources, reward_extra_infos_dict))
        self.last_val = (trainer.global_steps, dict(metrics))

    def on_train_begin(self, trainer: Any) -> None:
        """Forget an earlier attempt's stop record; judge the validation `fit` ran before training."""
        self.health.clear_stop_record()
        if self.last_val is not None:
            self.health.observe(*self.last_val)

    def after_compute_metrics(self, trainer: Any, batch: Any, metrics: dict, global_steps: int) -> None:
        """Add the step's `justrl/` metrics from TransferQueue; on a stop decision end the loop cleanly."""
        import transfer_queue as tq

        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=TRAIN_FIELDS)
        fields = {name: _as_list(data[name]) for name in TRAIN_FIELDS}
        metrics.update(self.health.train_metrics(fields, batch.tags))
        stop = self.health.observe(global_steps, metrics)
        if self.saved_step == global_steps:
            # veRL saves a step's checkpoint before it validates that step: the state saved with it
            # must include this step's validation, or a resume from it forgets that result.
            self.health.save_state(_step_folder(trainer))
        if stop is not None:
            self.stop_early(trainer, stop)

    def stop_early(self, trainer: Any, stop: StopDecision) -> None:
        self.stop = stop
        end_after_this_step(trainer)

    def on_train_end(self, trainer: Any) -> None:
        if self.stop is not None:
            print(self.stop.line, flush=True)


def build_health_callback(config: DictConfig) -> HealthCallback:
    """The trainer's health callback, from the full veRL config."""
    health = TrainingHealth.from_trainer_config(config)
    return HealthCallback() if health is None else MonitorCallback(health)
