"""The one result type every verifier returns (kept apart so helper modules can share it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of one verification: ``pred`` is the extracted answer (None when none was found)."""

    correct: bool
    pred: str | None
    reason: str
