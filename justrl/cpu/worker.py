"""The actor/rollout/ref worker veRL builds on a CPU: veRL's own, in a gloo process group.

The trainer puts it in veRL's role mapping on a CPU run (`JustRLTrainer._init_resource_pool_mgr`,
through `use_cpu_workers`). Importing this module in the worker process registers veRL's FSDP
engine for device `cpu` and the CPU rollout backend there.
"""

from __future__ import annotations

import os

import ray
from verl.workers.engine_workers import ActorRolloutRefWorker

import justrl.cpu.rollout  # noqa: F401  (registers rollout.name=justrl_cpu in the worker process)
from justrl.cpu.distributed import init_gloo_process_group, register_fsdp_engine
from justrl.cpu.threads import compute_on_share_of_cores

register_fsdp_engine()


class CPUActorRolloutRefWorker(ActorRolloutRefWorker):
    """veRL's hybrid worker, unchanged but for the process group it starts in (justrl.cpu.distributed)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        init_gloo_process_group()
        compute_on_share_of_cores(int(os.environ.get("RAY_LOCAL_WORLD_SIZE", "1")))


def use_cpu_workers(role_worker_mapping: dict) -> None:
    """Swap veRL's hybrid worker for the CPU one in a trainer's role -> Ray class mapping."""
    for role, actor_class in role_worker_mapping.items():
        if actor_class.__ray_actor_class__ is ActorRolloutRefWorker:
            role_worker_mapping[role] = ray.remote(CPUActorRolloutRefWorker)
