"""slurm/train.sbatch running veRL's real trainer (the CPU backend) on the local two-node Slurm.

No stand-in: `justrl-train recipe=tiny_cpu` in one Ray cluster over both nodes, one FSDP rank on
each (Ray counts it as a logical GPU, JUSTRL_CPU_ONLY=1 with JUSTRL_GPUS_PER_NODE=1), checkpoints
in the job's run directory, and the ways a job is stopped and comes back: the job's USR1
save-and-requeue before the time limit, Slurm's TERM (`scancel --signal=TERM`, a real preemption by
a higher-priority partition, which Slurm then requeues), each saving the step in flight and the
requeued run resuming from that real veRL checkpoint.
"""

from __future__ import annotations

import json
import re

import pytest

from slurm_support.jobs import slurm, submit, wait_for_text  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
TRAIN_TIMEOUT = 900
RECIPE = ["recipe=tiny_cpu", "trainer.val_before_train=false", "trainer.test_freq=-1"]


def cpu_job_env(data_root) -> dict[str, str]:
    return {
        "JUSTRL_SMOKE": "0",
        "JUSTRL_CPU_ONLY": "1",
        "JUSTRL_GPUS_PER_NODE": "1",
        # the CPU backend's actors take a logical CPU each; the simulated nodes have 2 cores
        "JUSTRL_RAY_CPUS_PER_NODE": "8",
        "JUSTRL_DATA_DIR": str(data_root),
        "JUSTRL_CHECK_CMD": "",
    }


def tracked_step(run_dir) -> int:
    tracker = run_dir / "checkpoints" / "latest_checkpointed_iteration.txt"
    return int(tracker.read_text()) if tracker.exists() else 0


def logged_steps(metrics_file) -> list[int]:
    """The steps an attempt trained: veRL's file logger writes each one (Ray may drop a stopped
    run's last printed lines; this file is the ground truth)."""
    return [json.loads(line)["step"] for line in metrics_file.read_text().splitlines() if line.strip()]


def saved_on_request(out: str) -> int:
    return int(re.search(r"\[justrl\] step (\d+): checkpoint saved on request", out).group(1))


def test_usr1_saves_a_real_checkpoint_requeues_and_the_next_run_resumes(slurm, submit, tiny_data_root):
    job_id, log = submit([*RECIPE, "trainer.total_training_steps=5", "trainer.save_freq=-1"], env=cpu_job_env(tiny_data_root))
    wait_for_text(log, r"step:1 - ", timeout=TRAIN_TIMEOUT)
    slurm.run("scancel", "--batch", "--signal=USR1", job_id)
    slurm.release_requeued(job_id, TRAIN_TIMEOUT)
    job = slurm.wait(job_id, lambda j: j.restarts == 1 and j.state in ("COMPLETED", "FAILED"), TRAIN_TIMEOUT)
    out = log.read_text()
    assert (job.state, job.exit_code) == ("COMPLETED", 0), out[-6000:]
    first, second = out.split(f"job {job_id} (train) restart count 1")
    saved = saved_on_request(first)
    run_dir = submit.tmp / "runs" / f"tiny_cpu-{job_id}"
    assert f"global_step_{saved}" in second
    resumed_steps = sorted({int(s) for s in re.findall(r"step:(\d+) - ", second)})
    assert resumed_steps == list(range(saved + 1, 6))
    # save_freq=-1: the checkpoint on record is the one the request made
    assert tracked_step(run_dir) == saved and not (run_dir / "SAVE_AND_EXIT").exists()


def test_a_two_node_job_saves_the_step_in_flight_on_term(slurm, submit, tiny_data_root):
    env = {**cpu_job_env(tiny_data_root), "JUSTRL_CHECK_CMD": "justrl-check"}
    job_id, log = submit([*RECIPE, "trainer.total_training_steps=6", "trainer.save_freq=-1"], env=env, nodes=2)
    wait_for_text(log, r"step:1 - ", timeout=TRAIN_TIMEOUT)
    # TERM to every process of the job's steps (the Ray head and worker; `scancel` without --full
    # spares the batch script), as a preemption sends it: the job saves, then requeues itself
    slurm.run("scancel", "--signal=TERM", job_id)
    job = slurm.wait(job_id, lambda j: j.restarts == 1 or j.state in ("COMPLETED", "FAILED", "CANCELLED"), TRAIN_TIMEOUT)
    slurm.run("scancel", job_id)  # the requeued job would wait two minutes, then resume (as in the next test)
    out = log.read_text()
    assert (job.restarts, job.state) == (1, "PENDING"), out[-6000:]
    assert "preflight: passed" in out and "Ray cluster ready: 2 node(s), 2 GPU" in out
    run_dir = submit.tmp / "runs" / f"tiny_cpu-{job_id}"
    saved, trained = saved_on_request(out), logged_steps(run_dir / "checkpoints" / "metrics.jsonl")
    # no step lost: the checkpoint is the last step trained, the one in flight when TERM came
    assert trained == list(range(1, saved + 1)) and 1 <= saved < 6, out[-6000:]
    assert tracked_step(run_dir) == saved and re.search(rf"step:{saved} - .*actor/grad_norm", out)
    # one FSDP rank on each node (the placement group asks one Ray GPU of each), both saved
    step = run_dir / "checkpoints" / f"global_step_{saved}" / "actor"
    assert sorted(p.name for p in step.glob("model_world_size_2_rank_*.pt")) == ["model_world_size_2_rank_0.pt", "model_world_size_2_rank_1.pt"]
    for node in ("n1", "n2"):
        assert "TERM: kept from ray (pid" in (submit.tmp / "logs" / job_id / f"ray-{node}.log").read_text()
    assert f"requeue: scontrol requeue {job_id} (restart 1)" in out


def test_a_preempted_job_saves_the_step_in_flight_and_resumes_from_it(slurm, submit, tiny_data_root):
    job_id, log = submit([*RECIPE, "trainer.total_training_steps=5", "trainer.save_freq=-1"], env=cpu_job_env(tiny_data_root))
    wait_for_text(log, r"step:1 - ", timeout=TRAIN_TIMEOUT)
    # a job of a higher PriorityTier partition wants the node: Slurm sends TERM to the job's steps,
    # SIGKILL after the partition's GraceTime, then requeues it (PreemptMode=REQUEUE); the job saves
    # within it and requeues itself (a job that ends within its GraceTime counts as done)
    slurm.run("sbatch", "--partition=urgent", "--nodelist=n1", "--exclusive", "--output=/dev/null", "--wrap=sleep 1")
    slurm.release_requeued(job_id, TRAIN_TIMEOUT)
    job = slurm.wait(job_id, lambda j: j.restarts == 1 and j.state in ("COMPLETED", "FAILED"), TRAIN_TIMEOUT)
    out = log.read_text()
    assert (job.state, job.exit_code) == ("COMPLETED", 0), out[-6000:]
    first, second = out.split(f"job {job_id} (train) restart count 1")
    assert "TERM reached the job's steps (a preemption, or scancel --signal=TERM)" in first
    assert f"requeue: scontrol requeue {job_id} (restart 1)" in first
    run_dir = submit.tmp / "runs" / f"tiny_cpu-{job_id}"
    saved = saved_on_request(first)
    # the first attempt's metrics were moved aside when the requeued run started
    assert logged_steps(run_dir / "checkpoints" / "metrics.1.jsonl") == list(range(1, saved + 1))
    assert logged_steps(run_dir / "checkpoints" / "metrics.jsonl") == list(range(saved + 1, 6))
    assert f"Resuming from {run_dir}/checkpoints/global_step_{saved}" in second
