"""Ending veRL's training loop cleanly after the current step, with a checkpoint on disk.

Two things stop a JustRL training run early: the health monitor (justrl.health) and a save request from
Slurm (slurm/ray_on_slurm.sh touches JUSTRL_SAVE_REQUEST_FILE on USR1 before the time limit, then
requeues the job; slurm/save_on_term.py touches it on Slurm's TERM; the next run resumes from this
checkpoint with trainer.resume_mode=auto). Both end the
loop the same way: veRL's `fit` re-checks `global_steps <= total_training_steps` after each step and
calls `on_train_end` when it fails, so no veRL code needs to change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

SAVE_REQUEST_ENV = "JUSTRL_SAVE_REQUEST_FILE"


def end_after_this_step(trainer: Any) -> None:
    """Save this step's checkpoint (unless veRL's save_freq just did) and let `fit` return after it."""
    save_freq = trainer.config.trainer.save_freq
    if not (save_freq > 0 and trainer.global_steps % save_freq == 0):
        trainer._save_checkpoint()
    trainer.total_training_steps = trainer.global_steps


def save_requested() -> bool:
    """Whether the Slurm job asked this run to save its work and stop (time limit near, TERM)."""
    request = os.environ.get(SAVE_REQUEST_ENV)
    return bool(request) and Path(request).exists()


def honour_save_request(trainer: Any) -> bool:
    """Checkpoint and stop when the Slurm job asked for it; the request is consumed once honoured."""
    if not save_requested():
        return False
    request = os.environ[SAVE_REQUEST_ENV]
    end_after_this_step(trainer)
    Path(request).unlink(missing_ok=True)
    print(f"[justrl] step {trainer.global_steps}: checkpoint saved on request ({request}); exiting", flush=True)
    return True
