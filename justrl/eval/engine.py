"""The small interface between the generation loop and whatever produces completions.

The loop only needs "N completions for each of these prompts"; keeping that behind a Protocol
lets the vLLM engine (GPU), a Transformers engine (CPU smoke runs) and deterministic test
doubles stand in for one another without the loop knowing which it drives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SamplingSpec:
    """Sampling settings of one evaluation run (JustRL: 0.7 / 0.9 / 31744)."""

    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int | None = None


@dataclass(frozen=True)
class Completion:
    """One sampled response; finish_reason is "length" when it hit the token cap."""

    text: str
    num_tokens: int
    finish_reason: str


class GenerationEngine(Protocol):
    """Produces n completions per prompt; prompts are already chat-templated text.

    `concurrency` is how many `generate` calls the engine can serve at once (one per GPU for
    the data-parallel vLLM engine); the loop keeps that many shards in flight.
    """

    concurrency: int

    def generate(self, prompts: list[str], n: int, sampling: SamplingSpec) -> list[list[Completion]]:
        """Return, for each prompt in order, exactly n completions."""
        ...

    def close(self) -> None:
        """Release GPUs / actors; called once the run is over or has failed."""
        ...


class EngineUnavailable(RuntimeError):
    """The requested engine cannot run here (no vLLM, no GPU); the message is user-facing."""
