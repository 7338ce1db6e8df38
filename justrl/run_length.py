"""Which limit ends a run, and at what step.

veRL's v1 `fit` loops `while epoch < total_epochs and step <= total_training_steps`, and saves "the
last step" only when the step reaches `total_training_steps`. With `total_training_steps` set past
the data (10 steps asked, 5 an epoch, one epoch) the loop ends at the epoch boundary, at step 5, and
that step is not saved. The preflight says so up front, JustRLTrainer saves the step the data ran
out on (`save_last_step`), and a rerun of a finished run stops at once ("already finished").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig


@dataclass
class RunLength:
    """The step the run ends on (None: unknown until the training data is readable) and why."""

    last_step: int | None
    reason: str


def train_rows_used(cfg: DictConfig, rows: int | None) -> int | None:
    """veRL's dataset keeps at most `data.train_max_samples` rows (when positive)."""
    cap = cfg.data.get("train_max_samples", -1)
    if rows is None or cap is None or cap <= 0:
        return rows
    return min(rows, cap)


def run_length(cfg: DictConfig, train_rows: int | None) -> RunLength:
    """The step veRL's loop ends on, from the rows the training files hold (before prompt filtering)."""
    asked = cfg.trainer.total_training_steps
    epochs = cfg.trainer.total_epochs
    rows = train_rows_used(cfg, train_rows)
    prompts = cfg.data.train_batch_size
    if rows is None or prompts <= 0:
        if asked is None:
            return RunLength(None, "unknown until the training file exists")
        return RunLength(asked, f"trainer.total_training_steps={asked}, unless the data runs out first")
    per_epoch = rows // prompts
    data_end = per_epoch * epochs
    epochs_line = f"trainer.total_epochs={epochs} x {per_epoch} steps an epoch"
    if asked is None:
        return RunLength(data_end, epochs_line)
    if asked <= data_end:
        return RunLength(asked, f"trainer.total_training_steps={asked}")
    return RunLength(
        data_end,
        f"{epochs_line}, before trainer.total_training_steps={asked} (the learning-rate schedule still "
        f"spans {asked} steps); raise trainer.total_epochs to {-(-asked // max(per_epoch, 1))} to train {asked} steps",
    )


def save_last_step(trainer: Any, saved_step: int | None) -> int | None:
    """After veRL's loop ended on the data rather than on total_training_steps, save the step it ended on.

    Called from `on_train_end`, which veRL's `fit` reaches only when its `while` condition ends the
    loop (epochs used up, or justrl's early stop / save request, which save themselves); the step
    just trained is then `global_steps - 1`. Honours `save_freq <= 0` (saving off), like veRL's own
    last-step save. Returns the step saved, if any.
    """
    last = trainer.global_steps - 1
    if trainer.config.trainer.save_freq <= 0 or last <= 0 or last == saved_step:
        return None
    if last >= trainer.total_training_steps:  # the step limit ended it (an early stop lowers it): saved already
        return None
    trainer.global_steps = last
    try:
        trainer._save_checkpoint()
    finally:
        trainer.global_steps = last + 1
    print(
        f"[justrl] step {last}: the training data ran out (trainer.total_epochs={trainer.config.trainer.total_epochs}) "
        f"before trainer.total_training_steps={trainer.total_training_steps}; saved global_step_{last}",
        flush=True,
    )
    return last
