"""What every SFT row must be before a GPU sees it: chat turns ending in a formatted answer.

The cold start exists only to teach `<think>...</think>` followed by a boxed answer, so a row
whose assistant turn lacks either would teach the opposite; the checks reuse the reward's own
format functions so "formatted" means the same thing in SFT data, RL reward and format-check.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from reward_fns.format import has_boxed, has_think_block

ROW_FAULTS = {
    "not_chat": "are not a list of chat messages with role and content",
    "no_assistant_last": "do not end with an assistant turn",
    "no_think": "have an assistant turn without a complete <think>...</think> block followed by an answer",
    "no_boxed": "have an assistant turn without a \\boxed{...} answer",
}


@dataclass
class RowFaults:
    """Row indices per fault kind, so one line can say how many and which come first."""

    rows: int = 0
    faults: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def lines(self, where: str, shown: int = 5) -> list[str]:
        return [
            f"{where}: {len(idx)} of {self.rows} rows {ROW_FAULTS[kind]} (rows {', '.join(map(str, idx[:shown]))}"
            f"{', ...' if len(idx) > shown else ''})"
            for kind, idx in self.faults.items()
        ]


def row_fault(messages: Any) -> str | None:
    """The first thing wrong with one row's messages, or None for a usable row."""
    if not isinstance(messages, list) or not messages:
        return "not_chat"
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in messages):
        return "not_chat"
    if messages[-1]["role"] != "assistant":
        return "no_assistant_last"
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    if not all(has_think_block(a) for a in answers):
        return "no_think"
    if not all(has_boxed(a) for a in answers):
        return "no_boxed"
    return None


def check_rows(all_messages: list[Any]) -> RowFaults:
    found = RowFaults(rows=len(all_messages))
    for i, messages in enumerate(all_messages):
        fault = row_fault(messages)
        if fault:
            found.faults[fault].append(i)
    return found
