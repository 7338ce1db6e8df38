"""The health monitor inside veRL's v1 trainer: one function per `JustRLTrainer` override, each called
after `super()`, so veRL's loop runs unchanged and the monitor only reads what it produced.

Where each piece hooks in (veRL 0.9.1 `verl/trainer/ppo/v1/trainer_base.py`):
- `_compute_metrics` runs once per step after training and validation, before the loggers: fetch the
  step's reward diagnostics from TransferQueue, add the `justrl/` metrics, let the monitor judge.
- `_val_metrics_update` is where `_validate` turns per-response reward info into metrics: add the
  per-benchmark `justrl/val/` metrics.
- Early stop: save a checkpoint (unless this step already saved one) and set `total_training_steps`
  to the current step, so veRL's `while` loop ends after this step and calls `on_train_end`, which
  prints the reason as the trainer's last line.
- `_save_checkpoint` / `_load_checkpoint`: the monitor's validation history travels with checkpoints.
"""

from __future__ import annotations

import os
from typing import Any

from justrl.health.metrics import validation_metrics
from justrl.health.monitor import StopDecision
from justrl.health.trainer_hooks import TRAIN_FIELDS, TrainingHealth
from justrl.loop_control import end_after_this_step


def health_of(trainer: Any) -> TrainingHealth | None:
    """The trainer's `TrainingHealth`, built from its config on first use (None when disabled)."""
    if not hasattr(trainer, "_justrl_health"):
        trainer._justrl_health = TrainingHealth.from_trainer_config(trainer.config)
        trainer._justrl_stop = None
        trainer._justrl_last_val = None
    return trainer._justrl_health


def _step_folder(trainer: Any) -> str:
    return os.path.join(trainer.config.trainer.default_local_dir, f"global_step_{trainer.global_steps}")


def after_load_checkpoint(trainer: Any) -> None:
    health = health_of(trainer)
    if health is None or trainer.global_steps == 0:
        return
    resume = trainer.config.trainer
    health.load_state(resume.resume_from_path if resume.resume_mode == "resume_path" else _step_folder(trainer))


def after_save_checkpoint(trainer: Any) -> None:
    health = health_of(trainer)
    if health is not None:
        health.save_state(_step_folder(trainer))
        trainer._justrl_saved_step = trainer.global_steps


def add_validation_metrics(trainer: Any, data_sources, reward_extra_infos_dict, metrics: dict) -> None:
    health = health_of(trainer)
    if health is not None:
        metrics.update(validation_metrics(data_sources, reward_extra_infos_dict))
        trainer._justrl_last_val = (trainer.global_steps, dict(metrics))


def on_train_begin(trainer: Any) -> None:
    """Forget an earlier attempt's stop record; judge the validation `fit` ran before training."""
    health = health_of(trainer)
    if health is None:
        return
    health.clear_stop_record()
    if trainer._justrl_last_val is not None:
        health.observe(*trainer._justrl_last_val)


def _as_list(values: Any) -> list:
    """A non-tensor TransferQueue field as a plain list.

    SimpleStorage hands these back as tensordict's `LinkedList` (a `list` without `.tolist()`); other
    backends give a `NonTensorStack` or a numpy array, whose `.tolist()` unwraps the items.
    """
    return values.tolist() if hasattr(values, "tolist") else list(values)


def after_compute_metrics(trainer: Any, batch: Any, metrics: dict, global_steps: int) -> None:
    """Add the step's `justrl/` metrics from TransferQueue; on a stop decision end the loop cleanly."""
    health = health_of(trainer)
    if health is None:
        return
    import transfer_queue as tq

    data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=TRAIN_FIELDS)
    fields = {name: _as_list(data[name]) for name in TRAIN_FIELDS}
    metrics.update(health.train_metrics(fields, batch.tags))
    stop = health.observe(global_steps, metrics)
    if getattr(trainer, "_justrl_saved_step", None) == global_steps:
        # veRL saves a step's checkpoint before it validates that step: the state saved with it
        # must include this step's validation, or a resume from it forgets that result.
        health.save_state(_step_folder(trainer))
    if stop is not None:
        stop_early(trainer, stop)


def stop_early(trainer: Any, stop: StopDecision) -> None:
    trainer._justrl_stop = stop
    end_after_this_step(trainer)


def on_train_end(trainer: Any) -> None:
    if getattr(trainer, "_justrl_stop", None) is not None:
        print(trainer._justrl_stop.line, flush=True)
