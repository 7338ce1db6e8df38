"""Checkpoint folders as the trainers leave them, written by hand for the run-folder rules' tests."""

from __future__ import annotations

from pathlib import Path

from justrl.checkpoints import mark_complete, tracker_path


def save(run_dir: Path, step: int, shard: str, data_file: str, marked: bool = True) -> None:
    """`global_step_<step>` with one model shard and the data-loader state; marked: the save finished
    (the completion marker), unmarked: only the tracker names it."""
    folder = run_dir / f"global_step_{step}"
    (folder / shard).parent.mkdir(parents=True, exist_ok=True)
    (folder / shard).write_bytes(b"weights")
    (folder / data_file).write_bytes(b"state")
    if marked:
        mark_complete(run_dir, step)
    else:
        tracker_path(run_dir).write_text(str(step))
