"""Run the project's own commands on the CPU backend, as a user would, under a hard timeout.

Each run is a fresh `justrl-train` (or `justrl-sft`) process that starts its own Ray cluster; a run
that outlives its timeout is killed with its whole process group (Ray's daemons included) and the
test fails with the tail of its output, so a hang fails instead of stalling CI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

RUN_TIMEOUT_S = 600


@dataclass
class Run:
    """A finished command: exit code, output, and the per-step metrics veRL's file logger wrote."""

    returncode: int
    stdout: str
    stderr: str
    metrics_file: Path | None = None
    steps: dict[int, dict] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def metric(self, name: str) -> dict[int, float]:
        """{step: value} of one metric over the steps that logged it."""
        return {step: data[name] for step, data in self.steps.items() if name in data}

    def describe(self) -> str:
        return f"exit {self.returncode}; last output:\n{self.output[-4000:]}"


def run_command(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = RUN_TIMEOUT_S) -> Run:
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise AssertionError(f"{' '.join(cmd)} still running after {timeout} s; killed. Last output:\n{(stdout + stderr)[-4000:]}") from None
    finally:
        try:  # Ray's daemons share the session; none may outlive the run
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return Run(proc.returncode, stdout, stderr)


def read_metrics(path: Path) -> dict[int, dict]:
    """veRL's file logger: one `{"step": N, "data": {...}}` line per step (validation at step 0 too)."""
    steps: dict[int, dict] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            steps.setdefault(record["step"], {}).update(record["data"])
    return steps


def cpu_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "JUSTRL_DATA_DIR": str(data_dir), "WANDB_MODE": "offline", **extra}


def train(data_dir: Path, work: Path, name: str, *overrides: str, recipe: str = "tiny_cpu", run_metrics: bool = False, **env: str) -> Run:
    """`justrl-train recipe=tiny_cpu` with its checkpoints in work/ckpt and its metrics in work/NAME.jsonl
    (run_metrics: where justrl-train places them itself, work/ckpt/metrics.jsonl, one history across runs)."""
    work.mkdir(parents=True, exist_ok=True)
    metrics = work / "ckpt" / "metrics.jsonl" if run_metrics else work / f"{name}.jsonl"
    cmd = ["justrl-train", f"recipe={recipe}", f"trainer.default_local_dir={work / 'ckpt'}", *overrides]
    run = run_command(cmd, work, cpu_env(data_dir, VERL_FILE_LOGGER_PATH="" if run_metrics else str(metrics), **env))
    run.metrics_file = metrics
    run.steps = read_metrics(metrics)
    return run


def merge_actor(actor_dir: Path, target: Path) -> Path:
    """veRL's own model merger: a sharded FSDP checkpoint -> a Hugging Face directory."""
    cmd = [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp", "--local_dir", str(actor_dir), "--target_dir", str(target)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    return target


def weights(model_dir: Path) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    return {k: v.float() for k, v in AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).state_dict().items()}


def sft(data_root: Path, work: Path, name: str, *overrides: str) -> Run:
    """A `justrl-sft recipe=tiny_cpu_sft` run checkpointing under work/ckpt; asserts it exited 0."""
    metrics = work / f"{name}.jsonl"
    cmd = ["justrl-sft", "recipe=tiny_cpu_sft", f"trainer.default_local_dir={work / 'ckpt'}", *overrides]
    run = run_command(cmd, work, cpu_env(data_root, VERL_FILE_LOGGER_PATH=str(metrics)))
    run.steps = read_metrics(metrics)
    assert run.returncode == 0, run.describe()
    return run


def prepared_data_root(tmp_path_factory: pytest.TempPathFactory, task: str) -> Path:
    """A fresh JUSTRL_DATA_DIR holding what `justrl-prep <task> --out ROOT/<task>` writes."""
    root = tmp_path_factory.mktemp("data")
    done = subprocess.run(["justrl-prep", task, "--out", str(root / task)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return root
