"""The `torch.<device>` namespace for device `cpu`: what veRL calls on `get_torch_device()`.

`torch.cpu` has no memory statistics, RNG or cache calls; veRL calls those on every device (after
each step, in checkpoints, in its memory logging), so this module answers them the way a CPU
would: memory comes from the process, the RNG is torch's default generator, caches are no-ops.
"""

from __future__ import annotations

import psutil
import torch
from torch.cpu import Event, Stream, current_stream, device_count, is_available, stream, synchronize  # noqa: F401


def current_device() -> str:
    """veRL passes this to `.to()` and `torch.device()`, so it is the device string, not an index."""
    return "cpu"


def set_device(device: object) -> None:
    """One device: there is nothing to select."""


def get_device_name(device: object = None) -> str:
    return "cpu"


def empty_cache() -> None:
    """No caching allocator on CPU."""


def ipc_collect() -> None:
    """No CUDA IPC handles on CPU."""


def set_per_process_memory_fraction(fraction: float, device: object = None) -> None:
    """No device memory pool to cap on CPU."""


def mem_get_info(device: object = None) -> tuple[int, int]:
    """(free, total) bytes, as `torch.cuda.mem_get_info` reports them for a GPU."""
    memory = psutil.virtual_memory()
    return memory.available, memory.total


def memory_allocated(device: object = None) -> int:
    return psutil.Process().memory_info().rss


memory_reserved = max_memory_allocated = max_memory_reserved = memory_allocated


def manual_seed(seed: int) -> None:
    torch.manual_seed(seed)


manual_seed_all = manual_seed


def get_rng_state(device: object = None) -> torch.Tensor:
    return torch.get_rng_state()


def set_rng_state(state: torch.Tensor, device: object = None) -> None:
    torch.set_rng_state(state)
