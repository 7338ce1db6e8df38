"""slurm/train.sbatch on a real Slurm (two simulated nodes on localhost) in the smoke mode.

What is asserted comes from the job's own output and from `scontrol show job`: the Ray cluster
the allocation should give, the overrides byte for byte, the exit status, the preflight stopping
a bad config before Ray, and resume after a requeue (external, and self-requeue on USR1).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from slurm_support.jobs import JOB_TIMEOUT, lines_after, slurm, submit, wait_for_text  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def tracked_step(checkpoints: Path) -> int:
    tracker = checkpoints / "latest_checkpointed_iteration.txt"
    return int(tracker.read_text()) if tracker.exists() else 0


def test_two_node_job_forms_the_cluster_and_gets_the_overrides_intact(slurm, submit):
    user_args = [
        "recipe=smoke_1gpu",
        "trainer.experiment_name='smoke run'",
        'data.val_files=[a.parquet, "b c.parquet"]',
        "+justrl.note=\"two  spaces, [brackets] and 'quotes'\"",
        "actor_rollout_ref.actor.optim.lr=2e-6",
    ]
    job_id, log = submit(
        user_args,
        env={"WANDB_MODE": "offline", "JUSTRL_CHECK_CMD": "printf 'check-arg: %s\\n'"},
        nodes=2,
    )
    job = slurm.wait_finished(job_id, JOB_TIMEOUT)
    out = log.read_text()
    assert (job.state, job.exit_code, job.restarts) == ("COMPLETED", 0, 0), out

    run_dir = submit.tmp / "runs" / f"smoke_run-{job_id}"
    expected = user_args + [
        "trainer.nnodes=2",
        "trainer.resume_mode=auto",
        f"trainer.default_local_dir={run_dir}/checkpoints",
    ]
    assert lines_after("smoke: override: ", out) == expected
    assert lines_after("check-arg: ", out) == expected
    assert out.index("check-arg: ") < out.index("ray: starting the head on n1")

    assert "smoke: cluster CPU=4 GPU=0" in out
    assert "smoke: node n1 CPU=2 GPU=0" in out and "smoke: node n2 CPU=2 GPU=0" in out
    run_id = f"smoke_run-{job_id}"
    for node in ("n1", "n2"):
        assert f"smoke: node {node}: task ran on slurm node {node} with WANDB_RUN_ID={run_id} JUSTRL_RUN_DIR={run_dir}" in out
    assert f"smoke: run_dir={run_dir}" in out and "smoke: restart_count=0" in out
    assert "smoke: trainer finished at step 3" in out

    sync = re.search(r"W&B offline: upload with: wandb sync --id (\S+) (\S+)$", out, re.M)
    assert sync and sync.group(1) == run_id, out
    offline_runs = list(Path(sync.group(2)).parent.glob(Path(sync.group(2)).name))
    assert [p.name.endswith(f"-{run_id}") for p in offline_runs] == [True]
    assert not (run_dir / "SAVE_AND_EXIT").exists()


def test_failing_check_stops_the_job_before_ray_starts(slurm, submit):
    job_id, log = submit(["recipe=does_not_exist"], env={"JUSTRL_CHECK_CMD": "justrl-check"})
    job = slurm.wait_finished(job_id, JOB_TIMEOUT)
    out = log.read_text()
    failed = re.search(r"ERROR: preflight failed \(exit (\d+)\)", out)
    assert failed, out
    assert job.state == "FAILED" and job.exit_code == int(failed.group(1)) != 0
    assert "does_not_exist" in out.split("preflight: justrl-check")[1]
    assert "ray: starting" not in out and "smoke:" not in out
    assert not (submit.tmp / "logs" / job_id).exists()


def test_scontrol_requeue_resumes_the_same_run_and_the_exit_code_propagates(slurm, submit):
    job_id, log = submit(
        ["recipe=smoke_1gpu"],
        env={"JUSTRL_CHECK_CMD": "", "JUSTRL_SMOKE_STEPS": "6", "JUSTRL_SMOKE_SAVE_FREQ": "1", "JUSTRL_SMOKE_EXIT_CODE": "3"},
    )
    checkpoints = submit.tmp / "runs" / f"smoke_1gpu-{job_id}" / "checkpoints"
    deadline = time.monotonic() + JOB_TIMEOUT
    while (observed := tracked_step(checkpoints)) < 2:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.3)
    slurm.run("scontrol", "requeue", job_id)
    job = slurm.wait_finished(job_id, JOB_TIMEOUT)
    out = log.read_text()
    assert (job.state, job.exit_code, job.restarts) == ("FAILED", 3, 1), out

    first, second = out.split(f"job {job_id} (train) restart count 1")
    assert f"job {job_id} (train) restart count 0" in first
    for run in (first, second):
        assert f"run dir: {checkpoints.parent} (run id smoke_1gpu-{job_id}" in run
    assert "smoke: restart_count=1" in second and "smoke: resume_mode=auto" in second
    resumed = int(re.search(r"smoke: resume: from global_step_(\d+)", second).group(1))
    # The checkpoint tracker is the ground truth for how far the first run got: Ray forwards an
    # actor's prints asynchronously, so the killed run's log can lack its last steps.
    assert observed <= resumed < 6
    assert f"smoke: step {resumed + 1}" in second and f"smoke: step {resumed}\n" not in second
    assert tracked_step(checkpoints) == 6


def test_usr1_checkpoints_then_requeues_and_the_next_run_resumes(slurm, submit):
    job_id, log = submit(["recipe=smoke_1gpu"], env={"JUSTRL_CHECK_CMD": "", "JUSTRL_SMOKE_STEPS": "8"})
    wait_for_text(log, r"smoke: step 2")
    slurm.run("scancel", "--batch", "--signal=USR1", job_id)
    job = slurm.wait(job_id, lambda j: j.restarts == 1 and j.state in ("COMPLETED", "FAILED"), JOB_TIMEOUT)
    out = log.read_text()
    assert (job.state, job.exit_code) == ("COMPLETED", 0), out

    first, second = out.split(f"job {job_id} (train) restart count 1")
    run_dir = submit.tmp / "runs" / f"smoke_1gpu-{job_id}"
    assert f"USR1: asked the job to checkpoint and exit ({run_dir}/SAVE_AND_EXIT)" in first
    saved = int(re.search(r"smoke: trainer saved global_step_(\d+) on request and stopped", first).group(1))
    assert f"requeue: scontrol requeue {job_id} (restart 1)" in first
    assert first.index("ray: stopped") < first.index("requeue: scontrol requeue")
    assert f"smoke: resume: from global_step_{saved}" in second
    assert "smoke: trainer finished at step 8" in second and "USR1" not in second
    assert tracked_step(run_dir / "checkpoints") == saved
    assert not (run_dir / "SAVE_AND_EXIT").exists()


def test_scancel_still_cancels_the_job(slurm, submit):
    """TERM no longer reaches Ray or the trainer (slurm/save_on_term.py): a cancel must still end the
    job, at Slurm's SIGKILL (KillWait, 5 s here) at the latest, and it is not requeued."""
    job_id, log = submit(["recipe=smoke_1gpu"], env={"JUSTRL_CHECK_CMD": "", "JUSTRL_SMOKE_STEPS": "300"})
    wait_for_text(log, r"smoke: step 2")
    cancelled = time.monotonic()
    slurm.run("scancel", job_id)
    job = slurm.wait_finished(job_id, JOB_TIMEOUT)
    assert time.monotonic() - cancelled < 30
    out = log.read_text()
    assert (job.state, job.restarts) == ("CANCELLED", 0), out
    assert "TERM: job cancelled, preempted or requeued by Slurm" in out and "requeue:" not in out
    assert "smoke: trainer finished" not in out


def test_a_node_whose_ray_cannot_start_is_named(slurm, submit):
    slurm.stop_slurmd("n2")
    try:
        job_id, log = submit(["recipe=smoke_1gpu"], env={"JUSTRL_CHECK_CMD": ""}, nodes=2)
        wait_for_text(log, r"job \d+ exits with status")
    finally:
        slurm.start_slurmd("n2")  # the job only completes once every node's slurmd reports back
    job = slurm.wait_finished(job_id, JOB_TIMEOUT)
    out = log.read_text()
    assert job.state == "FAILED" and job.exit_code == 3, out
    assert re.search(r"ERROR: Ray could not start on node\(s\) n2 \(its srun exited; see \S+/ray-n2\.log\)", out), out
    assert "smoke: override" not in out
