"""justrl-sft's run folder without a trainer: the SFT checkpoint layout under the completeness rule,
the resume choice handed to veRL's SFT trainer, and the lock (test_cpu_sft.py runs them live)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

import checkpoint_folders
from justrl.checkpoints import MARKER, SFT_LAYOUT, CheckpointError, plan_resume, tracker_path
from justrl.config import compose_recipe
from justrl.run_lock import LOCK_FILE, RunFolderBusy, release
from justrl.sft.run_folder import settled


def save(run_dir, step, marked=True):
    """A checkpoint folder as veRL's SFT trainer leaves it: shards and data state in the step folder."""
    checkpoint_folders.save(run_dir, step, "model_world_size_1_rank_0.pt", "data_0.pt", marked)


def test_sft_checkpoints_are_complete_by_the_marker_or_the_tracker(tmp_path):
    save(tmp_path, 2)
    save(tmp_path, 4)
    (tmp_path / "global_step_4" / MARKER).unlink()
    plan = plan_resume(tmp_path, SFT_LAYOUT)
    assert plan.step == 2 and "global_step_4 has no justrl_complete.json" in plan.warning()
    # the RL layout would call every SFT folder incomplete (no actor/): the layout is what makes them count
    with pytest.raises(CheckpointError, match="actor/ is missing"):
        plan_resume(tmp_path)
    (tmp_path / "global_step_2" / "model_world_size_1_rank_0.pt").unlink()
    with pytest.raises(CheckpointError, match=r"model shards \(model_world_size_\*\) is missing or empty"):
        plan_resume(tmp_path, SFT_LAYOUT)


def test_sft_checkpoints_from_before_the_marker(tmp_path):
    save(tmp_path, 3, marked=False)
    assert plan_resume(tmp_path, SFT_LAYOUT).step == 3
    (tmp_path / "global_step_3" / "data_0.pt").unlink()
    with pytest.raises(CheckpointError, match="its data_0.pt is missing"):
        plan_resume(tmp_path, SFT_LAYOUT)


@pytest.fixture
def sft_cfg(tmp_path):
    return compose_recipe("tiny_cpu_sft", [f"trainer.default_local_dir={tmp_path}"])


def test_settled_hands_veRL_the_complete_checkpoint_and_holds_the_lock(tmp_path, sft_cfg, capsys):
    save(tmp_path, 2)
    (tmp_path / "global_step_4").mkdir()  # half written, and the tracker names it
    tracker_path(tmp_path).write_text("4")
    lock = tmp_path / LOCK_FILE
    with settled(sft_cfg, {}):
        assert (sft_cfg.trainer.resume_mode, sft_cfg.trainer.resume_from_path) == ("resume_path", str(tmp_path / "global_step_2"))
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert (sft_cfg.trainer.resume_mode, sft_cfg.trainer.resume_from_path) == ("auto", None)
    assert not lock.exists()
    out = capsys.readouterr().out
    assert f"resuming from {tmp_path / 'global_step_2'}, the newest complete checkpoint; passed over:" in out
    assert "global_step_4 has no justrl_complete.json" in out


def test_settled_refuses_a_busy_folder_and_over_checkpoints(tmp_path, sft_cfg):
    lock = tmp_path / LOCK_FILE
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getppid(), "slurm_job_id": None, "started": "t"}))
    with pytest.raises(RunFolderBusy, match=f"in use by another run \\(pid {os.getppid()} on"):
        with settled(sft_cfg, {}):
            pass
    with settled(sft_cfg, {"SLURM_NODEID": "1"}):  # the other nodes of a multi-node job take no lock
        pass
    lock.unlink()
    (tmp_path / "global_step_3").mkdir()
    with pytest.raises(CheckpointError, match="holds global_step_3 but none is a complete checkpoint"):
        with settled(sft_cfg, {}):
            pass
    assert not lock.exists()  # released on the refusal
    sft_cfg.trainer.resume_mode = "disable"
    with pytest.raises(CheckpointError, match="trainer.resume_mode=disable would train from step 0 over"):
        with settled(sft_cfg, {}):
            pass


def test_the_worker_releases_the_lock_torchrun_holds(tmp_path):
    """justrl-sft execs torchrun (same pid), so its worker releases the lock by its parent's pid."""
    lock = tmp_path / LOCK_FILE
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": int(child.stdout), "slurm_job_id": None, "started": "t"}))
    release(lock, holder_pid=os.getpid())
    assert lock.exists()  # another holder's lock stays
    release(lock, holder_pid=int(child.stdout))
    assert not lock.exists()
