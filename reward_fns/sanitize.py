"""Cheap input checks shared by all verifiers: reject what must never reach a parser.

Returning a reason string (instead of raising) lets the reward stay a pure function that
degrades to "incorrect, because ..." inside training, where an exception would stop the run.
"""

from __future__ import annotations

import re

MAX_GROUND_TRUTH_CHARS = 1000
# Control characters other than tab/newline/carriage return, and the decoder's replacement char.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_BINARY_FRACTION = 0.05
_SAMPLE_CHARS = 512


def check_text(value: object, what: str, max_chars: int = MAX_GROUND_TRUTH_CHARS * 1000) -> str | None:
    """Return why ``value`` cannot be verified, or None when it is a usable string.

    The binary test samples the head and tail only (NUL anywhere), so it costs the same on
    60k-character responses as on short ones: it runs on every one of 2,048 responses a step.
    """
    if not isinstance(value, str):
        return f"{what} is not a string (got {type(value).__name__})"
    if not value.strip():
        return f"{what} is empty"
    if len(value) > max_chars:
        return f"{what} too long ({len(value)} characters, at most {max_chars})"
    sample = value if len(value) <= 2 * _SAMPLE_CHARS else value[:_SAMPLE_CHARS] + value[-_SAMPLE_CHARS:]
    if "\x00" in value or len(_BINARY.findall(sample)) > _BINARY_FRACTION * len(sample):
        return f"{what} looks binary (control or undecodable characters)"
    return None


def check_ground_truth(value: object) -> str | None:
    """Ground truths are short answers; a long one is a data bug, not an answer."""
    return check_text(value, "ground truth", max_chars=MAX_GROUND_TRUTH_CHARS)
