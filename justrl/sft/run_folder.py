"""The SFT run folder under the rules of justrl-train's (docs/run_folder.md): one run at a time
(justrl.run_lock) and a resume only from a complete checkpoint (justrl.checkpoints).

veRL's SFT trainer resumes from whatever its tracker names and writes no completion marker, so here
justrl-sft chooses the checkpoint before torchrun starts and hands it to veRL as
`trainer.resume_mode=resume_path`, and every rank's trainer marks each finished save
(`MarkedSFTTrainer`). The lock is taken by justrl-sft, whose pid torchrun keeps (exec), and is
released by the worker of global rank 0 when training ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from justrl import checkpoints, run_lock
from justrl.sft.launch import node_rank


def takes_lock(env: Mapping[str, str]) -> bool:
    """Only the first node's justrl-sft locks the folder: every node of a multi-node job runs one,
    all on the same shared folder."""
    return node_rank(env) in (None, "0")


@contextmanager
def settled(cfg: DictConfig, env: Mapping[str, str]) -> Iterator[None]:
    """Hold the run folder's lock (first node only) and set the config's resume settings to the
    checkpoint chosen; exec'ing torchrun inside keeps both. Leaving (an error before the exec)
    releases the lock and gives the config its own resume settings back.

    Raises RunFolderBusy (another live run holds the folder) or CheckpointError (no complete
    checkpoint to resume from, or starting would write over checkpoints).
    """
    lock = run_lock.holding(cfg.trainer.default_local_dir) if takes_lock(env) else nullcontext()
    with lock:
        plan = checkpoints.checked_resume(cfg, checkpoints.SFT_LAYOUT)
        if plan is None:  # resume_path (checked) or disable (over nothing): veRL's own handling
            yield
            return
        if plan.warning():
            print(f"[justrl] warning: {plan.warning()}", flush=True)
        if plan.folder is not None:
            print(f"[justrl] resuming from {plan.folder}", flush=True)
        with checkpoints.resume_from(cfg, plan):
            yield


def release_lock(cfg: DictConfig) -> None:
    """The worker of global rank 0, when training ended: its parent is torchrun, which holds the
    lock under justrl-sft's pid."""
    if os.environ.get("RANK", "0") == "0":
        run_lock.release(Path(cfg.trainer.default_local_dir) / run_lock.LOCK_FILE, holder_pid=os.getppid())


class _MarkingCheckpoints:
    """veRL's CheckpointHandler, each save followed by the completion marker. veRL's save ends with
    a barrier of all ranks, so when rank 0 writes the marker every rank's shards are on disk."""

    def __init__(self, handler: Any, run_dir: str, rank: int) -> None:
        self._handler = handler
        self._run_dir = run_dir
        self._rank = rank

    def load_checkpoint(self) -> int:
        return self._handler.load_checkpoint()

    def save_checkpoint(self, step: int) -> None:
        self._handler.save_checkpoint(step=step)
        if self._rank == 0:
            checkpoints.mark_complete(self._run_dir, step)


def marked_trainer_class() -> type:
    """veRL's SFTTrainer whose saves are marked complete (imported late: veRL picks its platform on import)."""
    from verl.trainer.sft_trainer import SFTTrainer

    class MarkedSFTTrainer(SFTTrainer):
        def _build_ckpt_handler(self) -> None:
            super()._build_ckpt_handler()
            self.ckpt_handler = _MarkingCheckpoints(self.ckpt_handler, self.config.trainer.default_local_dir, self.rank)

    return MarkedSFTTrainer
