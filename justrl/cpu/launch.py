"""What justrl-train does before Ray starts when the config says `trainer.device=cpu` (cluster=cpu)."""

from __future__ import annotations

import os

from omegaconf import DictConfig, open_dict

from justrl.cpu.platform import PLATFORM_NAME


def is_cpu_run(cfg: DictConfig) -> bool:
    return cfg.trainer.device == "cpu"


def prepare(cfg: DictConfig) -> None:
    """Select the CPU platform in this process; Ray's workers get it from the config's runtime_env.

    This must come before anything asks veRL for its platform: veRL resolves it once per process,
    and its auto-detection would pick CUDA and rewrite `trainer.device`. A Ray cluster that
    already runs (Slurm's) was started with its own logical resources, and Ray refuses
    `num_cpus` / `num_gpus` when connecting, so those two keys describe only a local cluster.
    """
    os.environ["VERL_PLATFORM"] = PLATFORM_NAME
    if os.environ.get("RAY_ADDRESS"):
        with open_dict(cfg):
            for key in ("num_cpus", "num_gpus"):
                cfg.ray_kwargs.ray_init.pop(key, None)
