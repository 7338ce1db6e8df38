"""The run-folder rules without a trainer: which checkpoint is complete, the lock's holders, which
limit ends a run, and one metrics history across attempts (test_cpu_run_folder.py runs them live)."""

from __future__ import annotations

import json
import shutil
import os
import socket
import subprocess
import sys

import pytest

import checkpoint_folders
from justrl.checkpoints import MARKER, CheckpointError, plan_resume, tracker_path
from justrl.config import compose_recipe
from justrl.health.history import load_history
from justrl.run_length import run_length
from justrl.run_lock import LOCK_FILE, RunFolderBusy, acquire, holding


def save(run_dir, step, marked=True):
    """A checkpoint folder as veRL and JustRLTrainer leave it (marked: the save finished)."""
    checkpoint_folders.save(run_dir, step, "actor/model_world_size_1_rank_0.pt", "data.pt", marked)


def test_the_newest_complete_checkpoint_is_chosen_and_the_skipped_ones_named(tmp_path):
    save(tmp_path, 2)
    save(tmp_path, 4)
    assert plan_resume(tmp_path).step == 4 and plan_resume(tmp_path).warning() is None
    (tmp_path / "global_step_4" / MARKER).unlink()  # half written: killed before the marker
    plan = plan_resume(tmp_path)
    assert plan.step == 2 and "global_step_4 has no justrl_complete.json" in plan.warning()


def test_a_deleted_latest_checkpoint_and_a_broken_tracker(tmp_path):
    save(tmp_path, 2)
    save(tmp_path, 4)
    shutil.rmtree(tmp_path / "global_step_4")
    plan = plan_resume(tmp_path)
    assert plan.step == 2 and "the tracker names global_step_4, which does not exist" in plan.warning()
    for broken, said in (("", "is empty"), ("4\x00\x00", "garbled")):
        tracker_path(tmp_path).write_text(broken)
        plan = plan_resume(tmp_path)
        assert plan.step == 2 and said in plan.warning()


def test_an_emptied_actor_folder_is_not_complete(tmp_path):
    """veRL's max_actor_ckpt_to_keep removes old actor/ contents but keeps the folder."""
    save(tmp_path, 2)
    save(tmp_path, 4)
    (tmp_path / "global_step_4" / "actor" / "model_world_size_1_rank_0.pt").unlink()
    assert plan_resume(tmp_path).step == 2


def test_checkpoints_from_before_the_marker(tmp_path):
    """Unmarked checkpoints count when the tracker vouches for them (veRL writes it after a whole
    save) and they are older than every marked one; otherwise the folder is refused in one line."""
    save(tmp_path, 2, marked=False)
    save(tmp_path, 4, marked=False)
    assert plan_resume(tmp_path).step == 4
    tracker_path(tmp_path).write_text("2")  # 4 was being written when the run died
    assert plan_resume(tmp_path).step == 2
    save(tmp_path, 6)  # this version resumed from 2 and marked its own save
    (tmp_path / "global_step_4").rename(tmp_path / "global_step_8")  # unmarked and newer than a marked one
    assert plan_resume(tmp_path).step == 6
    tracker_path(tmp_path).write_text("")
    (tmp_path / "global_step_6" / MARKER).unlink()
    with pytest.raises(CheckpointError) as refused:
        plan_resume(tmp_path)
    line = str(refused.value)
    assert "\n" not in line and "none is a complete checkpoint" in line and "trainer.resume_from_path=" in line


def test_an_empty_folder_starts_from_scratch(tmp_path):
    assert plan_resume(tmp_path / "new").step is None
    tracker_path(tmp_path).write_text("")  # a tracker, but nothing it could name
    assert plan_resume(tmp_path).step is None


def test_a_live_holder_is_refused_by_name_and_dead_ones_are_taken_over(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = tmp_path / LOCK_FILE
        lock.write_text(json.dumps({"host": socket.gethostname(), "pid": live.pid, "slurm_job_id": "77", "started": "t"}))
        with pytest.raises(RunFolderBusy) as busy:
            acquire(tmp_path)
        assert f"pid {live.pid} on {socket.gethostname()}, Slurm job 77" in str(busy.value)
        monkeypatch.setenv("SLURM_JOB_ID", "77")  # the same job, requeued: its old holder died with it
        assert acquire(tmp_path) == lock and json.loads(lock.read_text())["pid"] == os.getpid()
    finally:
        live.kill()
        live.wait()
    monkeypatch.delenv("SLURM_JOB_ID")
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": live.pid, "slurm_job_id": None, "started": "t"}))
    with holding(tmp_path):  # the holder's pid has exited
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()
    lock.write_text('{"host": "no')  # cut short by a kill while written
    with holding(tmp_path):
        pass
    lock.write_text(json.dumps({"host": "elsewhere", "pid": 1, "slurm_job_id": None, "started": "t"}))
    with pytest.raises(RunFolderBusy, match=f"if that run is gone, delete {lock}"):
        acquire(tmp_path)


def test_which_limit_ends_the_run(tmp_path):
    cfg = compose_recipe("tiny_cpu", ["trainer.total_epochs=1", "trainer.total_training_steps=10"])
    length = run_length(cfg, 40)  # 5 steps an epoch
    assert length.last_step == 5
    assert length.reason.startswith("trainer.total_epochs=1 x 5 steps an epoch, before trainer.total_training_steps=10")
    assert "raise trainer.total_epochs to 2" in length.reason
    assert run_length(cfg, 80).last_step == 10 and run_length(cfg, 80).reason == "trainer.total_training_steps=10"
    capped = compose_recipe("tiny_cpu", ["trainer.total_epochs=1", "trainer.total_training_steps=10", "data.train_max_samples=24"])
    assert run_length(capped, 80).last_step == 3


def test_justrl_check_says_which_limit_ends_the_run(tiny_data_root):
    out = subprocess.run(
        ["justrl-check", "recipe=tiny_cpu", "trainer.total_epochs=1", "trainer.total_training_steps=20"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "JUSTRL_DATA_DIR": str(tiny_data_root)},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    ends = [line for line in out.stdout.splitlines() if line.strip().startswith("the run ends")]
    assert len(ends) == 1 and "after step 10: trainer.total_epochs=1 x 10 steps an epoch, before trainer.total_training_steps=20" in ends[0]


def test_attempts_of_a_run_read_as_one_history(tmp_path):
    """metrics.1.jsonl (killed after step 3, resumed from step 2), then metrics.jsonl: step 3 once, the rerun's."""
    def lines(*steps):
        return "".join(json.dumps({"step": s, "data": {"justrl/accuracy": acc}}) + "\n" for s, acc in steps)

    (tmp_path / "metrics.1.jsonl").write_text(lines((1, 0.1), (2, 0.2), (3, 0.3)))
    (tmp_path / "metrics.jsonl").write_text(lines((3, 0.35), (4, 0.4)))
    history = load_history(tmp_path / "metrics.jsonl")
    assert [(step, m["justrl/accuracy"]) for step, m in history] == [(1, 0.1), (2, 0.2), (3, 0.35), (4, 0.4)]
    (tmp_path / "metrics.jsonl").write_text("")  # a new attempt that has not logged yet
    assert [step for step, _ in load_history(tmp_path / "metrics.jsonl")] == [1, 2, 3]
