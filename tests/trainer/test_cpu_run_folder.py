"""A run folder through the faults of a cluster, with veRL's real trainer (`justrl-train recipe=tiny_cpu`).

One chain of runs in one folder, 3 training steps an epoch (24 of the tiny task's rows, 8 a step):
1. `ended`: one epoch, total_training_steps=5: the data ends the run at step 3, which is saved
   (veRL saves only step 2, save_freq=2); while it runs, a second run in the folder is refused.
2. `again`: the same command: "already finished at step 3", and every file stays as it was.
3. `after_deletion`: global_step_3 deleted (the tracker still names it), two epochs, 4 steps: the run
   resumes from global_step_2 with a warning, never from scratch over it, and saves every step; a
   stale lock left by this very Slurm job (requeued) is taken over.
4. `after_empty_tracker`: the tracker emptied (a kill while veRL rewrote it), global_step_4 half
   written (no completion marker): resumes from global_step_3; a dead holder's lock is taken over.
Then the metrics of all attempts read as one history by justrl-plot and justrl-monitor replay.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cpu_runs import train

from justrl.checkpoints import MARKER, tracker_path
from justrl.health.history import load_history
from justrl.run_lock import LOCK_FILE

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SHORT = ["data.train_max_samples=24", "trainer.val_before_train=false", "trainer.test_freq=-1"]
ENDED = [*SHORT, "trainer.save_freq=2", "trainer.total_epochs=1", "trainer.total_training_steps=5"]
TWO_EPOCHS = [*SHORT, "trainer.save_freq=1", "trainer.total_epochs=2"]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("run_folder")


def ckpt(work: Path) -> Path:
    return work / "ckpt"


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under a folder: (mtime, content hash)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def steps_logged(path: Path) -> list[int]:
    return [json.loads(line)["step"] for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def ended(tiny_data_root, work) -> dict:
    """The first run, and a second one started in the same folder while the first holds it."""
    result: dict = {}
    first = threading.Thread(target=lambda: result.update(run=train(tiny_data_root, work, "ended", *ENDED, run_metrics=True)))
    first.start()
    lock = ckpt(work) / LOCK_FILE
    while first.is_alive() and not lock.exists():
        time.sleep(0.5)
    result["holder"] = json.loads(lock.read_text()) if lock.exists() else None
    result["second"] = train(tiny_data_root, work, "second", *ENDED, run_metrics=True)
    first.join()
    assert result["run"].returncode == 0, result["run"].describe()
    return result


@pytest.fixture(scope="module")
def again(ended, tiny_data_root, work) -> dict:
    before = snapshot(ckpt(work))
    run = train(tiny_data_root, work, "again", *ENDED, run_metrics=True)
    return {"run": run, "before": before, "after": snapshot(ckpt(work))}


@pytest.fixture(scope="module")
def after_deletion(again, tiny_data_root, work) -> dict:
    folder = ckpt(work)
    # deleted (by hand, by a cleanup script) while the tracker still names it
    shutil.rmtree(folder / "global_step_3", ignore_errors=True)
    tracker_path(folder).write_text("3")
    step_2 = snapshot(folder / "global_step_2")
    # what a SIGKILL of a Slurm job leaves: the lock of its driver on another node; the job requeued
    (folder / LOCK_FILE).write_text(json.dumps({"host": "node-gone", "pid": 1, "slurm_job_id": "4242", "started": "earlier"}))
    run = train(tiny_data_root, work, "after_deletion", *TWO_EPOCHS, "trainer.total_training_steps=4", SLURM_JOB_ID="4242", run_metrics=True)
    assert run.returncode == 0, run.describe()
    return {"run": run, "step_2": step_2, "step_2_after": snapshot(folder / "global_step_2")}


@pytest.fixture(scope="module")
def after_empty_tracker(after_deletion, tiny_data_root, work) -> dict:
    folder = ckpt(work)
    tracker_path(folder).write_text("")
    (folder / "global_step_4" / MARKER).unlink(missing_ok=True)
    step_3 = snapshot(folder / "global_step_3")
    # a dead driver's lock on this host (a manual rerun after a kill): a pid above Linux's largest
    (folder / LOCK_FILE).write_text(json.dumps({"host": socket.gethostname(), "pid": 2**22 + 1, "slurm_job_id": None, "started": "earlier"}))
    run = train(tiny_data_root, work, "after_empty_tracker", *TWO_EPOCHS, "trainer.total_training_steps=5", run_metrics=True)
    assert run.returncode == 0, run.describe()
    return {"run": run, "step_3": step_3, "step_3_after": snapshot(folder / "global_step_3")}


def test_the_run_that_the_data_ends_saves_its_last_step(ended, work):
    """Item 4: 5 steps asked, 3 in the data: the run ends at step 3 and step 3 is on disk, complete."""
    run = ended["run"]
    assert "[justrl] step 3: the training data ran out (trainer.total_epochs=1) before trainer.total_training_steps=5; saved global_step_3" in run.output
    step_3 = ckpt(work) / "global_step_3"
    assert (step_3 / MARKER).is_file() and (step_3 / "actor" / "model_world_size_2_rank_0.pt").is_file()
    assert tracker_path(ckpt(work)).read_text() == "3"
    assert steps_logged(ckpt(work) / "metrics.jsonl") == [1, 2, 3]


def test_a_second_run_in_the_folder_is_refused_naming_the_holder(ended, work):
    """Item 3: the second run ends in one line naming the first one's host and pid; the first is untouched."""
    holder, second = ended["holder"], ended["second"]
    assert holder is not None, "the first run took no lock on its folder"
    assert second.returncode == 1, second.describe()
    errors = [line for line in second.stderr.splitlines() if line.startswith("justrl-train: error:")]
    assert len(errors) == 1 and "is in use by another run" in errors[0], second.stderr[-2000:]
    assert f"pid {holder['pid']} on {holder['host']}" in errors[0]
    assert not (ckpt(work) / LOCK_FILE).exists()  # released when the first run ended


def test_a_finished_run_started_again_changes_nothing(again, work):
    """Item 5: 'already finished at step 3', exit 0, and every file of the run folder as it was
    (Hydra still writes its own log folder, outputs/<date>/<time>, in the working directory)."""
    run = again["run"]
    assert run.returncode == 0, run.describe()
    assert f"justrl-train: {ckpt(work)} already finished at step 3" in run.stdout
    assert "Started a local Ray instance" not in run.output
    assert again["after"] == again["before"]


def test_a_deleted_latest_checkpoint_resumes_from_the_newest_complete_one(after_deletion, work):
    """Item 1: the tracker names global_step_3, which is gone: resume from global_step_2 with one
    warning naming it, never from scratch over global_step_2; the requeued job's own lock is taken over."""
    run = after_deletion["run"]
    warnings = [line for line in run.output.splitlines() if line.startswith("[justrl] warning: resuming from")]
    assert len(warnings) == 1 and "global_step_2" in warnings[0] and "global_step_3, which does not exist" in warnings[0], run.output[-3000:]
    assert "Training from scratch" not in run.output
    assert after_deletion["step_2_after"] == after_deletion["step_2"]
    assert "taking over" in run.output and "this Slurm job (4242), requeued" in run.output
    assert (ckpt(work) / "global_step_4" / MARKER).is_file() and tracker_path(ckpt(work)).read_text() == "4"


def test_an_empty_tracker_resumes_from_the_newest_complete_checkpoint(after_empty_tracker, work):
    """Item 2: an empty tracker and a half-written global_step_4 (no marker): resume from
    global_step_3, which stays as it was; the dead holder's lock is taken over."""
    run = after_empty_tracker["run"]
    warnings = [line for line in run.output.splitlines() if line.startswith("[justrl] warning: resuming from")]
    assert len(warnings) == 1, run.output[-3000:]
    assert "global_step_3" in warnings[0] and "is empty" in warnings[0] and "global_step_4 has no" in warnings[0]
    assert "invalid literal for int()" not in run.output
    assert after_empty_tracker["step_3_after"] == after_empty_tracker["step_3"]
    assert "no longer runs on" in run.output
    assert (ckpt(work) / "global_step_5" / MARKER).is_file() and tracker_path(ckpt(work)).read_text() == "5"


def test_every_attempt_reads_as_one_history(after_empty_tracker, work, tmp_path):
    """Item 5: the four attempts' metrics files are one history, each step once, a step an attempt
    trained again (after resuming from an earlier checkpoint) in its latest version."""
    metrics = ckpt(work) / "metrics.jsonl"
    history = dict(load_history(metrics))
    assert sorted(history) == [1, 2, 3, 4, 5]
    assert steps_logged(metrics) == [4, 5]  # the last attempt's own file
    replay = subprocess.run(["justrl-monitor", "replay", str(metrics), "--rules", "justrl"], capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0 and "5 steps (1..5)" in replay.stdout, replay.stdout + replay.stderr
    plot = subprocess.run(["justrl-plot", str(ckpt(work)), "--out", str(tmp_path / "curves.png")], capture_output=True, text=True, timeout=300)
    assert plot.returncode == 0 and "(5 steps)" in plot.stdout, plot.stdout + plot.stderr
