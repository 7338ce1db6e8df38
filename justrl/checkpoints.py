"""Which checkpoints of a run folder are complete, and which one a run resumes from.

veRL 0.9.1 resumes from the step its tracker (`latest_checkpointed_iteration.txt`) names and trains
from scratch when that folder is gone, so a deleted or half-written latest checkpoint, or an empty
tracker (a kill while veRL rewrites it in place), restarted a run at step 0 over its own earlier
checkpoints. Here a checkpoint is *complete* when JustRLTrainer (or justrl-sft's trainer) wrote `justrl_complete.json` into it,
last, after veRL's whole save (model, optimizer, data state, tracker) and the health state, and its
model shards are still there (`actor/` for the RL trainer, which veRL's `max_actor_ckpt_to_keep`
empties; the step folder itself for veRL's SFT trainer: `Layout`). A run resumes from
the newest complete checkpoint (the tracker only vouches for checkpoints from before the marker)
and says in one line which newer folders, or which broken tracker, it passed over; a folder of checkpoints none of which is
complete is refused, never trained over.

Checkpoints written before the marker existed: one without the marker counts as complete when it is
older than every marked checkpoint of its folder, its model shards and data state exist, and the tracker
names it or a later step (veRL writes the tracker only after a whole save). With an unreadable
tracker such a folder is refused with the line that fixes it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict

from justrl.atomic import write_text_atomic

MARKER = "justrl_complete.json"
STEP_FOLDER = re.compile(r"global_step_(\d+)")


class CheckpointError(Exception):
    """A run folder whose checkpoints cannot be resumed safely; the message is the one line to show."""


@dataclass(frozen=True)
class Layout:
    """Where a trainer's checkpoint keeps its model shards and its data-loader state: the RL trainer
    under `actor/` (veRL's `max_actor_ckpt_to_keep` empties it), veRL's SFT trainer in the step folder
    itself (its `max_ckpt_to_keep` removes the whole folder)."""

    model: str  # what to call the model shards in a message
    model_glob: str
    data_file: str


RL_LAYOUT = Layout("actor/", "actor/*", "data.pt")
SFT_LAYOUT = Layout("model shards (model_world_size_*)", "model_world_size_*", "data_0.pt")


def step_folders(run_dir: str | Path) -> dict[int, Path]:
    """{step: folder} of the `global_step_<N>` folders in a run folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return {}
    found = {}
    for entry in run_dir.iterdir():
        match = STEP_FOLDER.fullmatch(entry.name)
        if match and entry.is_dir():
            found[int(match.group(1))] = entry
    return dict(sorted(found.items()))


def tracker_path(run_dir: str | Path) -> Path:
    # Imported here: justrl-train imports this module before it selects veRL's CPU platform, and
    # veRL's checkpoint module resolves the platform once per process on import.
    from verl.utils.checkpoint.checkpoint_manager import get_checkpoint_tracker_filename

    return Path(get_checkpoint_tracker_filename(str(run_dir)))


def read_tracker(run_dir: str | Path) -> tuple[int | None, str | None]:
    """(step, None) from a readable tracker, else (None, what is wrong with it) or (None, None) when absent."""
    path = tracker_path(run_dir)
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        return None, None
    if text.isdigit():
        return int(text), None
    return None, f"{path.name} is {'empty' if not text else f'garbled ({text[:20]!r})'}"


def _missing_part(folder: Path, layout: Layout) -> str | None:
    if not any(folder.glob(layout.model_glob)):
        return f"its {layout.model} is missing or empty"
    return None


@dataclass
class ResumePlan:
    """What a run in this folder starts from; `skipped` holds one reason per newer folder passed over."""

    run_dir: Path
    step: int | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path | None:
        return None if self.step is None else self.run_dir / f"global_step_{self.step}"

    def warning(self) -> str | None:
        if not self.skipped or self.step is None:
            return None
        return f"resuming from {self.folder}, the newest complete checkpoint; passed over: {'; '.join(self.skipped)}"


def plan_resume(run_dir: str | Path, layout: Layout = RL_LAYOUT) -> ResumePlan:
    """The newest complete checkpoint to resume from (step None: nothing to resume, start at step 0).

    Raises CheckpointError when checkpoints exist but none is complete: starting over would write
    over them.
    """
    run_dir = Path(run_dir).absolute()
    folders = step_folders(run_dir)
    tracked, tracker_problem = read_tracker(run_dir)
    plan = ResumePlan(run_dir)
    if tracker_problem:
        plan.skipped.append(f"{tracker_problem}, so every checkpoint was looked at")
    elif tracked is not None and tracked not in folders:
        plan.skipped.append(f"the tracker names global_step_{tracked}, which does not exist")
    marked = [step for step, folder in folders.items() if (folder / MARKER).is_file()]
    first_marked = min(marked, default=None)
    for step in sorted(folders, reverse=True):
        folder = folders[step]
        reason = _incomplete_reason(folder, step, tracked, first_marked, layout)
        if reason is None:
            plan.step = step
            return plan
        plan.skipped.append(f"{folder.name} {reason}")
    if folders:
        names = ", ".join(folder.name for folder in folders.values())
        raise CheckpointError(
            f"{run_dir} holds {names} but none is a complete checkpoint ({'; '.join(plan.skipped)}); "
            f"resume from one you trust with trainer.resume_mode=resume_path trainer.resume_from_path={run_dir}/global_step_N, "
            f"or move them out of the folder to start over"
        )
    return plan


def _incomplete_reason(folder: Path, step: int, tracked: int | None, first_marked: int | None, layout: Layout) -> str | None:
    missing = _missing_part(folder, layout)
    if (folder / MARKER).is_file():
        return missing
    if first_marked is not None and step > first_marked:
        return f"has no {MARKER} (its save did not finish)"
    if tracked is None:
        return f"has no {MARKER} and the tracker cannot vouch for it (a checkpoint from before justrl marked complete ones)"
    if step > tracked:
        return f"has no {MARKER} and is newer than the tracker's step {tracked}"
    if missing is None and not (folder / layout.data_file).is_file():
        missing = f"its {layout.data_file} is missing"
    return missing


def check_resume_path(path: str | Path, layout: Layout = RL_LAYOUT) -> None:
    """trainer.resume_from_path names a folder that a run may resume from."""
    folder = Path(path).absolute()
    if not folder.is_dir():
        raise CheckpointError(f"trainer.resume_from_path={path} does not exist; expected a global_step_N folder of a run")
    match = STEP_FOLDER.fullmatch(folder.name)
    if match is None:
        raise CheckpointError(f"trainer.resume_from_path={path} is not a global_step_N folder; pass one of a run's checkpoints")
    tracked, _ = read_tracker(folder.parent)
    first_marked = min((s for s, f in step_folders(folder.parent).items() if (f / MARKER).is_file()), default=None)
    # The user chose this one: an unmarked legacy folder is trusted as far as veRL would trust it.
    step = int(match.group(1))
    reason = _incomplete_reason(folder, step, tracked if tracked is not None else step, first_marked, layout)
    if reason:
        raise CheckpointError(f"trainer.resume_from_path={path} is not a complete checkpoint: it {reason}; pick another global_step_N")


def mark_complete(run_dir: str | Path, step: int) -> None:
    """The last write of a save: the marker, then the tracker again, both atomically.

    veRL rewrites its tracker in place (open "w"), so a kill at that moment leaves it empty; the
    atomic rewrite here and `plan_resume` reading markers first make that harmless.
    """
    folder = Path(run_dir) / f"global_step_{step}"
    write_text_atomic(folder / MARKER, json.dumps({"step": step}) + "\n")
    write_text_atomic(tracker_path(run_dir), str(step))


@contextmanager
def resume_from(trainer_config: DictConfig, plan: ResumePlan) -> Iterator[None]:
    """veRL's `_load_checkpoint` loads exactly `plan`'s folder (resume_path), or nothing (disable), then
    the config gets its own resume settings back (they are what W&B records for the run)."""
    section = trainer_config.trainer
    saved = section.resume_mode, section.get("resume_from_path")
    with open_dict(trainer_config):
        section.resume_mode = "disable" if plan.folder is None else "resume_path"
        section.resume_from_path = None if plan.folder is None else str(plan.folder)
    try:
        yield
    finally:
        with open_dict(trainer_config):
            section.resume_mode, section.resume_from_path = saved


def checked_resume(cfg: DictConfig, layout: Layout = RL_LAYOUT) -> ResumePlan | None:
    """What a run of `cfg` starts from, by its trainer.resume_mode: for auto the plan; None for
    resume_path (its folder checked complete) and for disable (checked to write over nothing).

    Raises CheckpointError when starting would write over checkpoints (none complete, or
    resume_mode=disable in a folder that holds some) or trainer.resume_from_path is not complete.
    """
    run_dir = os.path.abspath(cfg.trainer.default_local_dir)
    mode = cfg.trainer.resume_mode
    if mode == "resume_path":
        check_resume_path(cfg.trainer.resume_from_path, layout)
        return None
    if mode == "disable":
        folders = step_folders(run_dir)
        if folders:
            raise CheckpointError(
                f"trainer.resume_mode=disable would train from step 0 over {run_dir}'s "
                f"{', '.join(f.name for f in folders.values())}; use a new trainer.default_local_dir, "
                f"or resume with trainer.resume_mode=auto"
            )
        return None
    return plan_resume(run_dir, layout)


def planned_resume(cfg: DictConfig) -> ResumePlan | None:
    """The plan for a run whose trainer.resume_mode is auto; None for the other modes (veRL's)."""
    if cfg.trainer.resume_mode != "auto":
        return None
    return plan_resume(os.path.abspath(cfg.trainer.default_local_dir))


def last_saved_step(trainer: Any) -> int | None:
    return getattr(trainer, "_justrl_checkpointed_step", None)


def note_saved_step(trainer: Any, step: int) -> None:
    """The step whose checkpoint is on disk for this run (saved or resumed from)."""
    trainer._justrl_checkpointed_step = step
