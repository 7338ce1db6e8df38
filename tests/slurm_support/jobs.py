"""Submitting the real slurm/*.sbatch scripts to the local Slurm, and reading what their jobs wrote.

Each test module gets its own cluster (a few seconds to start), stopped when the module ends.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from slurm_support.cluster import LocalSlurm, install_system_deps, missing_binaries

REPO = Path(__file__).resolve().parents[2]
SLURM_DIR = REPO / "slurm"
JOB_TIMEOUT = 90


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the local Slurm needs root (slurmd runs as SlurmUser=root)")
    if missing_binaries():
        output = install_system_deps(REPO)
        if missing_binaries():
            pytest.skip(f"Slurm cannot be installed here ({', '.join(missing_binaries())} missing): {output}")
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


class Submitter:
    """sbatch of one of the repository's scripts, in the smoke mode unless the test's env says otherwise."""

    def __init__(self, slurm: LocalSlurm, tmp: Path):
        self.slurm, self.tmp = slurm, tmp

    def __call__(
        self, args: list[str], env: dict[str, str] | None = None, nodes: int = 1, script: str = "train.sbatch"
    ) -> tuple[str, Path]:
        settings = {
            "JUSTRL_SMOKE": "1",
            "JUSTRL_RUNS_DIR": str(self.tmp / "runs"),
            "JUSTRL_LOG_DIR": str(self.tmp / "logs"),
            "JUSTRL_SMOKE_STEP_SECONDS": "1",
            "WANDB_MODE": "disabled",
            **(env or {}),
        }
        options = [f"--nodes={nodes}", "--gpus-per-node=0", f"--output={self.tmp}/job-%j.out"]
        job_id = self.slurm.sbatch(SLURM_DIR / script, args, cwd=REPO, env=settings, options=options)
        return job_id, self.tmp / f"job-{job_id}.out"


@pytest.fixture
def submit(slurm, tmp_path):
    return Submitter(slurm, tmp_path)


def lines_after(prefix: str, text: str) -> list[str]:
    return [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]


def wait_for_text(path: Path, pattern: str, timeout: float = JOB_TIMEOUT) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, path.read_text()) if path.exists() else None
        if match:
            return match
        time.sleep(0.3)
    raise TimeoutError(f"{pattern!r} not in {path} after {timeout}s:\n{path.read_text() if path.exists() else ''}")
