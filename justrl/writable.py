"""An output folder the run cannot write, said before the run starts instead of as a trace from
whichever writer comes first (the run lock, the metrics file, veRL's checkpoint manager on rank 0)."""

from __future__ import annotations

import os
from pathlib import Path


def unwritable_problem(key: str, path: str) -> str | None:
    """Why the folder `path` (the value of `key`) cannot be created or written here, or None."""
    folder = Path(path).expanduser().absolute()
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{key}={path}: {existing} is a file; expected a folder; pass {key}=<a writable folder>"
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "the folder" if existing == folder else f"{existing}, where it would be created,"
        return f"{key}={path}: {what} is not writable here (read-only or not yours); pass {key}=<a writable folder>"
    return None
