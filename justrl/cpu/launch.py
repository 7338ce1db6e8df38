"""What justrl-train and justrl-sft do first when the config says `trainer.device=cpu`
(cluster=cpu / cluster=cpu_sft): before Ray or torchrun starts any worker."""

from __future__ import annotations

import importlib.util
import os

from omegaconf import DictConfig, open_dict

from justrl.config import LaunchError
from justrl.cpu.platform import PLATFORM_NAME

# vLLM-CPU's attention kernels reject narrower heads ("Unsupported CPU attention configuration").
VLLM_CPU_MIN_HEAD_DIM = 32


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
    if os.environ.get("RAY_ADDRESS") and "ray_kwargs" in cfg:
        with open_dict(cfg):
            for key in ("num_cpus", "num_gpus"):
                cfg.ray_kwargs.ray_init.pop(key, None)


def check_vllm_rollout(cfg: DictConfig) -> None:
    """justrl-train on cluster=cpu_vllm without vLLM: one line here, not a Ray actor's traceback (a model
    with heads too narrow for vLLM-CPU is one of justrl-check's problems, justrl.preflight)."""
    if cfg.actor_rollout_ref.rollout.name != "vllm":
        return
    if importlib.util.find_spec("vllm") is None:
        raise LaunchError(
            "rollout.name=vllm on a CPU needs vLLM's CPU build, which this environment lacks: "
            "`bash .ci/vllm_env.sh` builds it in .venv-vllm, then run `.venv-vllm/bin/justrl-train ...`; "
            "cluster=cpu generates with transformers instead"
        )
