"""A constructed healthy JustTinker-like run, for "the monitor never stops a healthy run".

The recorded healthy run (JustTinker exp 002) is not shipped with this repository, so this builds one
from stated, physically plausible values instead of inventing exp 002's numbers: 8192-token cap,
mean length drifting from ~3.8K to ~4.2K tokens, about 3% of responses cut at the cap, accuracy rising
slowly from 0.55 to 0.65 with the step-to-step noise of a 256-response batch, thinking rate ~0.80,
the published healthy redundancy of ~38%, chunk similarity ~0.30, validation every 10 steps on AIME24
and MATH-500. Everything is seeded, so the run is the same on every machine.
"""

from __future__ import annotations

import numpy as np

CAP = 8192


def healthy_step(step: int, rng: np.random.Generator) -> dict[str, float]:
    """The `justrl/` training metrics of one step of the constructed run."""
    acc = float(np.clip(0.55 + 0.10 * step / 200 + rng.normal(0, 0.04), 0, 1))
    think = float(np.clip(0.80 + rng.normal(0, 0.03), 0, 1))
    length = 3800 + 2.0 * step + rng.normal(0, 200)
    redundancy = 0.38 + rng.normal(0, 0.015)
    format_penalty = 0.1 * acc * (1 - think)
    redundancy_penalty = acc * (redundancy - 0.3) / 0.7 * 0.3
    return {
        "justrl/accuracy": acc,
        "justrl/accuracy/DAPO-Math-17k": acc,
        "justrl/reward/mean": acc - format_penalty - redundancy_penalty,
        "justrl/thinking_rate": think,
        "justrl/boxed_rate": float(np.clip(0.92 + rng.normal(0, 0.02), 0, 1)),
        "justrl/response_length/mean": length,
        "justrl/response_length/p50": 0.85 * length,
        "justrl/response_length/p95": min(2.0 * length, CAP),
        "justrl/response_length/max": float(CAP),
        "justrl/response_length/clip_ratio": float(np.clip(0.03 + rng.normal(0, 0.01), 0, 1)),
        "justrl/response_length/cap": float(CAP),
        "justrl/redundancy/mean": redundancy,
        "justrl/redundancy/p95": redundancy + 0.17,
        "justrl/chunk_similarity/mean": 0.30 + rng.normal(0, 0.03),
        "justrl/format_penalty/mean": format_penalty,
        "justrl/redundancy_penalty/mean": redundancy_penalty,
        "justrl/zero_signal_groups": float(np.clip(0.35 + rng.normal(0, 0.05), 0, 1)),
    }


def healthy_validation(step: int, rng: np.random.Generator) -> dict[str, float]:
    aime = 0.45 + 0.0005 * step + rng.normal(0, 0.02)
    math500 = 0.90 + rng.normal(0, 0.01)
    return {
        "justrl/val/AIME24/accuracy": aime,
        "justrl/val/MATH-500/accuracy": math500,
        "justrl/val/accuracy": (aime + math500) / 2,
        "justrl/val/thinking_rate": 0.85 + rng.normal(0, 0.02),
    }


def healthy_run(steps: int = 200, seed: int = 2) -> list[tuple[int, dict[str, float]]]:
    """(step, metrics) as the trainer logs them: validation before training (step 0) and every 10 steps."""
    rng = np.random.default_rng(seed)
    run = [(0, healthy_validation(0, rng))]
    for step in range(1, steps + 1):
        metrics = healthy_step(step, rng)
        if step % 10 == 0:
            metrics.update(healthy_validation(step, rng))
        run.append((step, metrics))
    return run
