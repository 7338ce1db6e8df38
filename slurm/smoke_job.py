"""The job the Slurm scripts run in the smoke mode (JUSTRL_SMOKE=1) instead of the real command.

It exercises everything the scripts promise without a GPU or a model: it joins the Ray cluster the
bootstrap formed (RAY_ADDRESS), prints its resources and the overrides exactly as received, runs a
task on every Slurm node, and runs a stand-in trainer in a Ray actor (where veRL's TaskRunner would
run) that resumes from and writes checkpoints in veRL's layout under trainer.default_local_dir
(`global_step_<N>/` plus `latest_checkpointed_iteration.txt`, what veRL's resume_mode=auto reads),
honours the save request file (JUSTRL_SAVE_REQUEST_FILE) like the real trainer must, and logs to
W&B when WANDB_MODE=offline.

Settings (environment): JUSTRL_SMOKE_STEPS [3] steps to train, JUSTRL_SMOKE_STEP_SECONDS [1]
seconds a step (make it long to requeue the job while it runs), JUSTRL_SMOKE_SAVE_FREQ [0] save a
checkpoint every N steps (0: only on request), JUSTRL_SMOKE_EXIT_CODE [0] exit status at the end.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import ray

from justrl.overrides import override_value

TRACKER_FILE = "latest_checkpointed_iteration.txt"
NODE_RESOURCE_PREFIX = "slurm_node:"


def latest_step(checkpoint_dir: Path) -> int:
    """The step veRL would resume from: the tracker file's step, if that checkpoint exists."""
    tracker = checkpoint_dir / TRACKER_FILE
    if not tracker.is_file():
        return 0
    step = int(tracker.read_text().strip())
    return step if (checkpoint_dir / f"global_step_{step}").is_dir() else 0


def save_checkpoint(checkpoint_dir: Path, step: int) -> None:
    """veRL's order: the checkpoint first, the tracker last, so a crash never points at half a save."""
    step_dir = checkpoint_dir / f"global_step_{step}"
    step_dir.mkdir(parents=True, exist_ok=True)
    (step_dir / "smoke_state.txt").write_text(f"step {step}\n")
    tmp = checkpoint_dir / (TRACKER_FILE + ".tmp")
    tmp.write_text(str(step))
    tmp.replace(checkpoint_dir / TRACKER_FILE)


@ray.remote(num_cpus=0)
def where_am_i() -> str:
    """Where a task lands, as the Slurm node that started its raylet, and the run identity it sees."""
    env = os.environ
    return (
        f"task ran on slurm node {env.get('SLURMD_NODENAME')} "
        f"with WANDB_RUN_ID={env.get('WANDB_RUN_ID')} JUSTRL_RUN_DIR={env.get('JUSTRL_RUN_DIR')}"
    )


@ray.remote(num_cpus=1)
class SmokeTrainer:
    """Where veRL's TaskRunner runs the training loop: inside the Ray cluster, not in the driver."""

    def fit(self, checkpoint_dir: str, steps: int, step_seconds: float, save_freq: int) -> str:
        ckpt = Path(checkpoint_dir)
        save_request = Path(os.environ["JUSTRL_SAVE_REQUEST_FILE"])
        start = latest_step(ckpt)
        print(f"smoke: resume: {'from global_step_%d' % start if start else 'none, fresh start'}", flush=True)
        run = self._wandb()
        for step in range(start + 1, steps + 1):
            time.sleep(step_seconds)
            if run is not None:
                run.log({"smoke/step": step}, step=step)
            print(f"smoke: step {step}", flush=True)
            if save_request.exists():
                save_checkpoint(ckpt, step)
                save_request.unlink()
                self._finish(run)
                return f"saved global_step_{step} on request and stopped"
            if save_freq and step % save_freq == 0:
                save_checkpoint(ckpt, step)
        self._finish(run)
        return f"finished at step {steps}"

    @staticmethod
    def _wandb():
        if os.environ.get("WANDB_MODE") != "offline":
            return None
        import wandb

        return wandb.init(project="justrl-smoke", settings=wandb.Settings(silent=True))

    @staticmethod
    def _finish(run) -> None:
        if run is not None:
            run.finish()


def print_cluster() -> list[str]:
    """Prints the cluster and returns the Slurm node names that joined it."""
    total = ray.cluster_resources()
    print(f"smoke: cluster CPU={total.get('CPU', 0):g} GPU={total.get('GPU', 0):g}", flush=True)
    names = []
    for node in sorted(ray.nodes(), key=lambda n: str(n["Resources"])):
        if not node["Alive"]:
            continue
        res = node["Resources"]
        slurm = [k[len(NODE_RESOURCE_PREFIX) :] for k in res if k.startswith(NODE_RESOURCE_PREFIX)]
        names += slurm
        print(f"smoke: node {','.join(slurm) or '?'} CPU={res.get('CPU', 0):g} GPU={res.get('GPU', 0):g}")
    return names


def main(argv: list[str]) -> int:
    env = os.environ
    ray.init(logging_level="ERROR", configure_logging=False)
    try:
        nodes = print_cluster()
        for arg in argv:
            print(f"smoke: override: {arg}")
        for node in nodes:
            task = where_am_i.options(resources={NODE_RESOURCE_PREFIX + node: 0.001})
            print(f"smoke: node {node}: {ray.get(task.remote())}")
        checkpoint_dir = override_value(argv, "trainer.default_local_dir")
        print(f"smoke: run_dir={env.get('JUSTRL_RUN_DIR')}")
        print(f"smoke: resume_mode={override_value(argv, 'trainer.resume_mode')}")
        print(f"smoke: checkpoint_dir={checkpoint_dir}")
        print(f"smoke: restart_count={env.get('SLURM_RESTART_COUNT', '0')}", flush=True)
        if checkpoint_dir is None:
            print("smoke: error: no trainer.default_local_dir override; expected the bootstrap to pass one")
            return 2
        trainer = SmokeTrainer.remote()
        outcome = ray.get(
            trainer.fit.remote(
                checkpoint_dir,
                int(env.get("JUSTRL_SMOKE_STEPS", "3")),
                float(env.get("JUSTRL_SMOKE_STEP_SECONDS", "1")),
                int(env.get("JUSTRL_SMOKE_SAVE_FREQ", "0")),
            )
        )
        print(f"smoke: trainer {outcome}", flush=True)
    finally:
        ray.shutdown()
    return int(env.get("JUSTRL_SMOKE_EXIT_CODE", "0"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
