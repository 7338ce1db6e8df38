"""Thinking rate and boxed-answer rate of sampled responses: JustTinker's SFT success measures.

Scoring reuses the reward's own format checks, so "thinks" here is exactly what the RL format
term rewards; it reads the JSONL records the evaluation loop writes, on any machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

from reward_fns.format import has_boxed, has_think_block, well_formed


@dataclass(frozen=True)
class FormatRates:
    prompts: int
    responses: int
    thinking: float
    boxed: float
    well_formed: float
    truncated: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_records(records: Iterable[dict[str, Any]], opened_by_prompt: bool = False) -> FormatRates:
    """Rates over every response of every record (each record = one prompt's N responses)."""
    prompts = 0
    counts = {"thinking": 0, "boxed": 0, "well_formed": 0, "truncated": 0}
    total = 0
    for record in records:
        prompts += 1
        for response in record["responses"]:
            text = response["text"]
            total += 1
            counts["thinking"] += has_think_block(text, opened_by_prompt=opened_by_prompt)
            counts["boxed"] += has_boxed(text)
            counts["well_formed"] += well_formed(text, opened_by_prompt=opened_by_prompt)
            counts["truncated"] += response.get("finish_reason") == "length"
    rate = {key: (value / total if total else 0.0) for key, value in counts.items()}
    return FormatRates(prompts=prompts, responses=total, **rate)


def render_rates(rates: FormatRates) -> list[str]:
    return [
        f"{rates.prompts} prompts, {rates.responses} responses",
        f"  thinking rate  {rates.thinking:6.1%}   (JustTinker: 0% before SFT, 70% after)",
        f"  boxed rate     {rates.boxed:6.1%}   (JustTinker: 36.7% before SFT, 80% after)",
        f"  well formed    {rates.well_formed:6.1%}   (think block, then the boxed answer after it)",
        f"  hit the cap    {rates.truncated:6.1%}   (finish_reason=length)",
    ]
