"""Log a graded evaluation to Weights & Biases: the results table and per-benchmark scalars.

A table rather than loose scalars, because the point of the JustRL table is reading a run's
row against the published rows in one view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from justrl.eval.results import details_rows


def log_results(
    results: dict[str, Any], project: str, out: Path, entity: str | None = None, name: str | None = None
) -> str:
    """Create one W&B run holding the tables; returns its local run directory."""
    import wandb

    run = wandb.init(
        project=project,
        entity=entity,
        name=name or results["table"]["rows"][0][0],
        job_type="eval",
        dir=str(out),
        config={k: results.get(k) for k in ("model", "base_model", "sampling", "verifier")},
    )
    try:
        header, rows = results["table"]["header"], results["table"]["rows"]
        details_header, details = details_rows(results["benchmarks"])
        run.log(
            {
                "eval/results": wandb.Table(columns=header, data=rows),
                "eval/details": wandb.Table(columns=details_header, data=details),
            }
        )
        for bench, stats in results["benchmarks"].items():
            if stats["avg"] is not None:
                run.summary[f"eval/{bench}/avg@N"] = 100 * stats["avg"]
                run.summary[f"eval/{bench}/maj@N"] = 100 * stats["maj"]
        run.summary["eval/Avg"] = rows[0][-1]
        return str(Path(run.dir).parent)
    finally:
        run.finish()
