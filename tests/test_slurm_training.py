"""slurm/train.sbatch running veRL's real trainer (the CPU backend) on the local two-node Slurm.

No stand-in: `justrl-train recipe=tiny_cpu` in one Ray cluster over both nodes, one FSDP rank on
each (Ray counts it as a logical GPU, JUSTRL_CPU_ONLY=1 with JUSTRL_GPUS_PER_NODE=1), checkpoints
in the job's run directory, and the two ways a job comes back: Slurm's own requeue and the job's
USR1 save-and-requeue, each resuming from the real veRL checkpoint.
"""

from __future__ import annotations

import re
import time

import pytest

from slurm_support.jobs import slurm, submit, wait_for_text  # noqa: F401 (fixtures)

pytestmark = pytest.mark.timeout(1800)
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


def test_two_node_job_trains_with_the_real_trainer(slurm, submit, tiny_data_root):
    env = {**cpu_job_env(tiny_data_root), "JUSTRL_CHECK_CMD": "justrl-check"}
    job_id, log = submit([*RECIPE, "trainer.total_training_steps=2", "trainer.save_freq=2"], env=env, nodes=2)
    job = slurm.wait_finished(job_id, TRAIN_TIMEOUT)
    out = log.read_text()
    assert (job.state, job.exit_code) == ("COMPLETED", 0), out[-6000:]
    assert "Ray cluster ready: 2 node(s), 2 GPU" in out
    assert "preflight: passed" in out
    run_dir = submit.tmp / "runs" / f"tiny_cpu-{job_id}"
    step = run_dir / "checkpoints" / "global_step_2" / "actor"
    # one rank on each node: the placement group asks one Ray GPU of each of the two nodes
    assert sorted(p.name for p in step.glob("model_world_size_2_rank_*.pt")) == ["model_world_size_2_rank_0.pt", "model_world_size_2_rank_1.pt"]
    assert re.search(r"step:2 - .*actor/grad_norm", out)


def test_usr1_saves_a_real_checkpoint_requeues_and_the_next_run_resumes(slurm, submit, tiny_data_root):
    job_id, log = submit([*RECIPE, "trainer.total_training_steps=5", "trainer.save_freq=-1"], env=cpu_job_env(tiny_data_root))
    wait_for_text(log, r"step:1 - ", timeout=TRAIN_TIMEOUT)
    slurm.run("scancel", "--batch", "--signal=USR1", job_id)
    job = slurm.wait(job_id, lambda j: j.restarts == 1 and j.state in ("COMPLETED", "FAILED"), TRAIN_TIMEOUT)
    out = log.read_text()
    assert (job.state, job.exit_code) == ("COMPLETED", 0), out[-6000:]
    first, second = out.split(f"job {job_id} (train) restart count 1")
    saved = int(re.search(r"\[justrl\] step (\d+): checkpoint saved on request", first).group(1))
    run_dir = submit.tmp / "runs" / f"tiny_cpu-{job_id}"
    assert f"global_step_{saved}" in second
    resumed_steps = sorted({int(s) for s in re.findall(r"step:(\d+) - ", second)})
    assert resumed_steps == list(range(saved + 1, 6))
    # save_freq=-1: the checkpoint on record is the one the request made
    assert tracked_step(run_dir) == saved and not (run_dir / "SAVE_AND_EXIT").exists()


def test_scontrol_requeue_resumes_from_the_last_real_checkpoint(slurm, submit, tiny_data_root):
    job_id, log = submit([*RECIPE, "trainer.total_training_steps=5", "trainer.save_freq=1"], env=cpu_job_env(tiny_data_root))
    run_dir = submit.tmp / "runs" / f"tiny_cpu-{job_id}"
    deadline = time.monotonic() + TRAIN_TIMEOUT
    while (observed := tracked_step(run_dir)) < 2:
        assert time.monotonic() < deadline, log.read_text()[-6000:]
        time.sleep(0.5)
    slurm.run("scontrol", "requeue", job_id)
    job = slurm.wait(job_id, lambda j: j.restarts == 1 and j.state in ("COMPLETED", "FAILED"), TRAIN_TIMEOUT)
    out = log.read_text()
    assert (job.state, job.exit_code) == ("COMPLETED", 0), out[-6000:]
    second = out.split(f"job {job_id} (train) restart count 1")[1]
    resumed_steps = sorted({int(s) for s in re.findall(r"step:(\d+) - ", second)})
    # the tracker is the ground truth of how far the first run got (Ray forwards prints late); the
    # requeued run starts after the last checkpoint it finds, at or after the one seen
    assert resumed_steps and resumed_steps[0] > observed and resumed_steps == list(range(resumed_steps[0], 6))
    assert tracked_step(run_dir) == 5
