"""What justrl-train settles about its run folder before Ray starts: which checkpoint it resumes from
(justrl.checkpoints), whether there is anything left to train (justrl.run_length), and that it does
not write over checkpoints it did not resume from. Every refusal is one line; nothing here writes.
"""

from __future__ import annotations

import os

from omegaconf import DictConfig

from justrl.checkpoints import checked_resume
from justrl.run_length import RunLength


def settle_start(cfg: DictConfig, length: RunLength) -> bool:
    """Print the resume decision; False when the run already finished (nothing must be touched).

    Raises CheckpointError when starting would write over checkpoints (none complete, or
    resume_mode=disable in a folder that holds some) or trainer.resume_from_path is not complete.
    """
    run_dir = os.path.abspath(cfg.trainer.default_local_dir)
    plan = checked_resume(cfg)
    if plan is None or plan.step is None:
        return True
    if plan.warning():
        print(f"[justrl] warning: {plan.warning()}", flush=True)
    if length.last_step is not None and plan.step >= length.last_step:
        print(
            f"justrl-train: {run_dir} already finished at step {plan.step} (the run ends at step "
            f"{length.last_step}: {length.reason}); nothing was changed. To train on, raise "
            f"trainer.total_training_steps (and trainer.total_epochs if the data ends first)",
            flush=True,
        )
        return False
    print(f"[justrl] resuming from {plan.folder}", flush=True)
    return True
