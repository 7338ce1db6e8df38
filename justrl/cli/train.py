"""`justrl-train recipe=NAME [overrides]`: compose, preflight, then veRL's own `run_ppo`.

The command line is Hydra's (overrides and flags such as `--cfg job --resolve`), so it behaves like
`python -m verl.trainer.main_ppo`; the recipe only chooses the primary config.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from justrl.checkpoints import CheckpointError
from justrl.cli.check import print_report
from justrl.cli.usage import render_help, wants_help
from justrl.cpu.launch import check_vllm_rollout, is_cpu_run, prepare as prepare_cpu_run
from justrl.config import ConfigError, LaunchError, parse_command_line
from justrl.hydra_run import run_under_hydra
from justrl.metrics_file import place_metrics_file
from justrl.preflight import run_checks
from justrl.run_lock import RunFolderBusy, holding
from justrl.run_start import settle_start

# The Python package each veRL rollout backend needs on the GPU nodes.
ROLLOUT_PACKAGES = {"vllm": "vllm", "sglang": "sglang"}


def check_gpus(cfg: DictConfig, recipe: str) -> None:
    """Fail before Ray and model loading when the GPUs the recipe asks for are not there."""
    needed = cfg.trainer.nnodes * cfg.trainer.n_gpus_per_node
    shape = f"{cfg.trainer.nnodes} node(s) x {cfg.trainer.n_gpus_per_node}"
    if os.environ.get("RAY_ADDRESS"):
        import ray

        ray.init(address=os.environ["RAY_ADDRESS"], ignore_reinit_error=True)
        found = int(ray.cluster_resources().get("GPU", 0))
        # veRL's run_ppo connects only when Ray is not initialised, and only then passes the
        # config's runtime env (TRANSFER_QUEUE_ENABLE, the platform) to every worker.
        ray.shutdown()
        where = f"the Ray cluster at {os.environ['RAY_ADDRESS']}"
    else:
        import torch

        found = torch.cuda.device_count()
        where = "this machine"
        if cfg.trainer.nnodes > 1 and found:
            raise LaunchError(
                f"trainer.nnodes={cfg.trainer.nnodes} needs a Ray cluster across the nodes; submit "
                f"slurm/train.sbatch (it starts one and sets RAY_ADDRESS) or pass cluster=node_8gpu"
            )
    if found == 0:
        raise LaunchError(
            f"no GPU on {where}; training runs on GPU nodes (slurm/train.sbatch). Here, "
            f"`justrl-check recipe={recipe}` validates the config and prints the plan, and "
            f"`justrl-train recipe={recipe} cluster=cpu` runs it on the CPU backend (small models only)"
        )
    if found < needed:
        raise LaunchError(
            f"{where} has {found} GPU(s) but the recipe needs {needed} ({shape}); pass "
            f"trainer.nnodes=... trainer.n_gpus_per_node=... (or cluster=node_8gpu / cluster=gpu_1) to match"
        )
    missing = missing_rollout_engine(cfg)
    if missing:
        raise LaunchError(missing)


def missing_rollout_engine(cfg: DictConfig) -> str | None:
    """The rollout engine is imported deep inside Ray workers; say it is missing before they start."""
    name = cfg.actor_rollout_ref.rollout.name
    if name in ROLLOUT_PACKAGES and importlib.util.find_spec(ROLLOUT_PACKAGES[name]) is None:
        return (
            f"actor_rollout_ref.rollout.name={name} but {ROLLOUT_PACKAGES[name]} is not installed in this "
            f"environment; install the GPU extra: pip install -e \".[gpu]\""
        )
    return None


def launch(cfg: DictConfig) -> None:
    """Start veRL's PPO entry with our TaskRunner (imported late: it pulls in Ray and veRL workers)."""
    import ray
    from verl.trainer.main_ppo import run_ppo
    from verl.utils.device import auto_set_device

    from justrl.task_runner import JustRLTaskRunner

    auto_set_device(cfg)
    OmegaConf.resolve(cfg)
    started = time.time()
    run_ppo(cfg, task_runner_class=JustRLTaskRunner)
    # Ray forwards worker output to this console from a background thread, late lines included;
    # shutting it down first keeps the stop reason the last line.
    ray.shutdown()
    print_early_stop(cfg.trainer.default_local_dir, since=started)


def print_early_stop(run_dir: str, since: float) -> None:
    """The trainer stops inside a Ray actor; its reason belongs on the driver's last line too."""
    from justrl.health.trainer_hooks import STOP_RECORD, read_stop_record

    record = read_stop_record(run_dir)
    if record is not None and (Path(run_dir) / STOP_RECORD).stat().st_mtime >= since:
        print(record["line"], flush=True)


def _train(cfg: DictConfig, recipe: str) -> None:
    try:
        if is_cpu_run(cfg):
            prepare_cpu_run(cfg)
            check_vllm_rollout(cfg)
        else:
            check_gpus(cfg, recipe)
    except LaunchError as exc:
        print(f"justrl-train: error: {exc}", file=sys.stderr)
        sys.exit(1)
    report = run_checks(cfg)
    if not report.ok:
        print_report(recipe, report)
        sys.exit(1)
    try:
        with holding(cfg.trainer.default_local_dir):
            if settle_start(cfg, report.length):
                place_metrics_file(cfg)
                launch(cfg)
    except (RunFolderBusy, CheckpointError) as exc:
        print(f"justrl-train: error: {exc}", file=sys.stderr)
        sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if wants_help(argv):
        print(render_help("justrl-train"))
        return 0
    try:
        line = parse_command_line(argv, "rl", "justrl-train")
    except ConfigError as exc:
        print(f"justrl-train: error: {exc}", file=sys.stderr)
        return 2
    return run_under_hydra("justrl-train", line, functools.partial(_train, recipe=line.recipe))


if __name__ == "__main__":
    sys.exit(main())
