"""The actor/rollout/ref worker veRL builds on a CPU: veRL's own, with a gloo process group.

veRL 0.9.1 joins the process group with the backend string `cpu:gloo,{device}:{backend}`
(`verl/utils/distributed.py`), which on device `cpu` reads `cpu:gloo,cpu:gloo`, and torch
rejects a device named twice. veRL skips its own call when a group already exists, so this worker
joins a plain gloo group first; the trainer puts it in veRL's role mapping on a CPU run
(`JustRLTrainer._init_resource_pool_mgr`). Importing this module in the worker process also
registers veRL's FSDP engine for device `cpu` (veRL registers it for cuda and npu only) and the
CPU rollout backend.
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch.distributed
from verl.workers.engine.base import EngineRegistry
from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead
from verl.workers.engine_workers import ActorRolloutRefWorker

import justrl.cpu.rollout  # noqa: F401  (registers rollout.name=justrl_cpu in the worker process)

EngineRegistry.register(model_type="language_model", backend=["fsdp", "fsdp2"], device="cpu")(FSDPEngineWithLMHead)


def init_gloo_process_group() -> None:
    """Join the job's process group on gloo alone, before veRL would try its two-backend string."""
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(
            backend="gloo",
            rank=int(os.environ["RANK"]),
            world_size=int(os.environ["WORLD_SIZE"]),
            timeout=timedelta(minutes=30),
        )


class CPUActorRolloutRefWorker(ActorRolloutRefWorker):
    """veRL's hybrid worker, unchanged but for the process group it starts in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        init_gloo_process_group()


def use_cpu_workers(role_worker_mapping: dict) -> None:
    """Swap veRL's hybrid worker for the CPU one in a trainer's role -> Ray class mapping."""
    import ray

    for role, actor_class in role_worker_mapping.items():
        if actor_class.__ray_actor_class__ is ActorRolloutRefWorker:
            role_worker_mapping[role] = ray.remote(CPUActorRolloutRefWorker)
