"""The JustTinker hand-off on the CPU backend, each stage with the real tool: `justrl-sft` runs veRL's
SFT trainer (torchrun, two gloo ranks, FSDP2, the recipe's padding-free and gradient-checkpointing
settings) and a rerun resumes it. The merge and the RL stage on its output are in
test_cpu_pipeline.py, which runs the whole hand-off."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cpu_runs import cpu_env, run_command, sft

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cpu_sft")


def lock_of(pid: int) -> str:
    return json.dumps({"host": socket.gethostname(), "pid": pid, "slurm_job_id": None, "started": "t"})


@pytest.fixture(scope="module")
def sft_runs(tiny_data_root, work):
    first = sft(tiny_data_root, work, "first")
    ckpt = work / "ckpt"
    # a kill mid-save: global_step_4 half written and named by the tracker; the killed run's lock left behind
    (ckpt / "global_step_4").mkdir()
    (ckpt / "latest_checkpointed_iteration.txt").write_text("4")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    (ckpt / "justrl.lock").write_text(lock_of(int(gone.stdout)))
    resumed = sft(tiny_data_root, work, "resumed", "trainer.total_training_steps=5", "trainer.save_freq=5")
    return first, resumed


def test_justrl_sft_resumes_from_the_newest_complete_checkpoint_and_takes_over_a_stale_lock(sft_runs, work):
    first, resumed = sft_runs
    ckpt = work / "ckpt"
    assert all((ckpt / f"global_step_{step}" / "justrl_complete.json").is_file() for step in (3, 5)), first.describe()
    assert f"resuming from {ckpt / 'global_step_3'}, the newest complete checkpoint; passed over: " in resumed.output, resumed.describe()
    assert "global_step_4 has no justrl_complete.json (its save did not finish)" in resumed.output, resumed.describe()
    assert f"taking over {ckpt / 'justrl.lock'}: the earlier holder" in resumed.output, resumed.describe()
    assert not (ckpt / "justrl.lock").exists()  # the run released it when it ended


def test_a_second_justrl_sft_in_a_busy_folder_refuses_in_one_line(sft_runs, tiny_data_root, work):
    ckpt = work / "ckpt"
    (ckpt / "justrl.lock").write_text(lock_of(os.getpid()))  # a live holder: this test process
    try:
        cmd = ["justrl-sft", "recipe=tiny_cpu_sft", f"trainer.default_local_dir={ckpt}", "trainer.total_training_steps=6"]
        busy = run_command(cmd, work, cpu_env(tiny_data_root), timeout=300)
    finally:
        (ckpt / "justrl.lock").unlink()
    assert busy.returncode == 1, busy.describe()
    line = f"justrl-sft: error: {ckpt} is in use by another run (pid {os.getpid()} on {socket.gethostname()}"
    matching = [l for l in busy.output.splitlines() if l.startswith(line)]
    assert len(matching) == 1 and [l for l in busy.stderr.splitlines() if l.startswith("justrl-sft")] == matching, busy.describe()
    assert "Traceback" not in busy.output and "torch.distributed.run" not in busy.output, busy.describe()
    assert not (ckpt / "global_step_6").exists()


def test_justrl_sft_trains_checkpoints_and_resumes(sft_runs, work):
    first, resumed = sft_runs
    assert [s for s in sorted(first.steps) if "train/loss" in first.steps[s]] == [1, 2, 3]
    assert first.steps[3]["train/loss"] < first.steps[1]["train/loss"]
    assert "val/loss" in first.steps[3]
    step3 = work / "ckpt" / "global_step_3"
    assert all((step3 / f"model_world_size_2_rank_{r}.pt").is_file() for r in (0, 1))
    assert (step3 / "huggingface" / "config.json").is_file()
    # the rerun starts from global_step_3, not from scratch
    assert [s for s in sorted(resumed.steps) if "train/loss" in resumed.steps[s]] == [4, 5]
    assert (work / "ckpt" / "latest_checkpointed_iteration.txt").read_text().strip() == "5"
