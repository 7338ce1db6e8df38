"""Deliver a health message: always one printed line, plus a W&B alert when a W&B run is active.

W&B is looked up in `sys.modules` rather than imported: if the trainer's loggers did not bring W&B
in, there is no run to alert, and replaying a file should not pay for importing it.
"""

from __future__ import annotations

import sys


def emit(line: str, title: str, level: str = "WARN", wait_seconds: float = 0) -> None:
    """Print `line`; if a W&B run is active, send it as an alert titled `title`."""
    print(line, flush=True)
    wandb = sys.modules.get("wandb")
    if wandb is None or getattr(wandb, "run", None) is None:
        return
    wandb.alert(
        title=title,
        text=line,
        level=getattr(wandb.AlertLevel, level),
        wait_duration=wait_seconds,
    )
