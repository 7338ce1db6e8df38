"""The eval job's command (slurm/eval.sbatch): justrl-eval's generation, then justrl-grade on the
directory that generation wrote, the results table logged to W&B when a project is configured.

One program rather than two commands in the .sbatch, because justrl-eval decides the output
directory (out=, else eval_results/<model name>) and its run() returns exactly that directory:
grading never re-derives or guesses it. Grading runs only after generation completed in a run that
was not asked to stop: Slurm's time-limit warning creates $JUSTRL_SAVE_REQUEST_FILE, the job then
requeues, and the requeued run finds every problem done (justrl-eval resumes) and grades.

Usage: python slurm/eval_job.py [justrl-eval arguments...]
Environment: WANDB_PROJECT (log the tables there; W&B off when unset or WANDB_MODE=disabled),
WANDB_ENTITY (read by W&B itself), WANDB_RUN_ID (the job's run id, set by the bootstrap).
Exit status: justrl-eval's when it fails, else justrl-grade's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from justrl.cli.eval import load_config, run, run_command
from justrl.cli.grade import main as grade_main
from justrl.loop_control import save_requested

PREFIX = "[justrl-eval-job]"


def grade_args(out: Path, env: Mapping[str, str]) -> list[str]:
    """justrl-grade's arguments: the directory, and the W&B project when W&B is on."""
    project = env.get("WANDB_PROJECT")
    if project and env.get("WANDB_MODE") != "disabled":
        return [str(out), "--wandb-project", project]
    return [str(out)]


def main(argv: list[str]) -> int:
    outs: list[Path] = []
    status = run_command("justrl-eval", lambda cfg: outs.append(run(cfg)), load_config, argv)
    if status != 0:
        return status
    if save_requested():
        print(f"{PREFIX} generation finished, but the job was asked to stop: the requeued job grades {outs[0]}", flush=True)
        return 0
    args = grade_args(outs[0], os.environ)
    print(f"{PREFIX} grading: justrl-grade {' '.join(args)}", flush=True)
    return grade_main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
