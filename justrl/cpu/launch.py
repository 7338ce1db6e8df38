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
    """justrl-train on cluster=cpu_vllm: its two ways to fail late, inside a Ray actor's traceback, made one line here."""
    if cfg.actor_rollout_ref.rollout.name != "vllm":
        return
    if importlib.util.find_spec("vllm") is None:
        raise LaunchError(
            "rollout.name=vllm on a CPU needs vLLM's CPU build, which this environment lacks: "
            "`bash .ci/vllm_env.sh` builds it in .venv-vllm, then run `.venv-vllm/bin/justrl-train ...`; "
            "cluster=cpu generates with transformers instead"
        )
    path = cfg.actor_rollout_ref.model.path
    head_dim = model_head_dim(path)
    if head_dim is not None and head_dim < VLLM_CPU_MIN_HEAD_DIM:
        raise LaunchError(
            f"{path} has attention heads {head_dim} wide; vLLM's CPU attention needs at least "
            f"{VLLM_CPU_MIN_HEAD_DIM}: take a model with wider heads, or cluster=cpu (transformers generation)"
        )


def model_head_dim(path: str) -> int | None:
    """The model's head width when its config is readable offline (a hub id may not be)."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError):
        return None
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
