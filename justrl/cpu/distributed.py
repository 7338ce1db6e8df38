"""The process group of a CPU run: gloo alone.

veRL 0.9.1 joins the process group with the backend string `cpu:gloo,{device}:{backend}`
(`verl/utils/distributed.py`, in `initialize_global_process_group` and `..._ray`), which on
device `cpu` reads `cpu:gloo,cpu:gloo`, and torch rejects a device named twice. No extension point
sets that string, so CPU workers join a plain gloo group before veRL would: the RL worker skips
veRL's call (it checks `is_initialized()`), and the SFT worker starts veRL's trainer itself.
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch.distributed


def init_gloo_process_group() -> None:
    """Join this job's process group (torchrun's or Ray's RANK / WORLD_SIZE / MASTER_*) on gloo."""
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(
            backend="gloo",
            rank=int(os.environ["RANK"]),
            world_size=int(os.environ["WORLD_SIZE"]),
            timeout=timedelta(minutes=30),
        )


def register_fsdp_engine() -> None:
    """veRL registers its FSDP engine for cuda and npu only; the same engine runs on gloo."""
    from verl.workers.engine.base import EngineRegistry
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

    registry = EngineRegistry._engines["language_model"]
    for backend in ("fsdp", "fsdp2"):
        if "cpu" not in registry.get(backend, {}):
            EngineRegistry.register(model_type="language_model", backend=backend, device="cpu")(FSDPEngineWithLMHead)
