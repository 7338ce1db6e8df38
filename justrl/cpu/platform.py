"""A veRL platform for device `cpu`, registered when this module is imported.

veRL imports it in every process that imports verl, through this project's `verl.plugins`
entry point (`EntryPoint.load()` only imports a module, so registration must happen at import);
`VERL_PLATFORM=cpu` selects it. Ray still has to count the workers as accelerators (veRL's
resource check and placement groups only know GPU/NPU), so the launcher starts Ray with logical
GPUs and this platform names `GPU` as its Ray resource.
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

from verl.plugin.platform import PlatformBase, PlatformRegistry

PLATFORM_NAME = "cpu"


@PlatformRegistry.register(platform=PLATFORM_NAME)
class PlatformCPU(PlatformBase):
    """Everything runs on the host: gloo collectives, no IPC, no profiler ranges."""

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> ModuleType:
        from justrl.cpu import torch_cpu

        return torch_cpu

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check: bool = False) -> bool:
        # Chosen only by VERL_PLATFORM=cpu, never by auto-detection on a GPU node.
        return False

    def current_device(self) -> str:  # type: ignore[override]
        return "cpu"

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        """One device."""

    def synchronize(self, device_index: int | None = None) -> None:
        """CPU work is synchronous."""

    def manual_seed(self, seed: int) -> None:
        import torch

        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        self.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        """No caching allocator to configure."""

    def empty_cache(self) -> None:
        """No caching allocator to empty."""

    def get_device_capability(self, device_index: int = 0) -> tuple[int | None, int | None]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"

    @contextlib.contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        """No device profiler."""

    def profiler_stop(self) -> None:
        """No device profiler."""

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        return False

    def cudart(self) -> Any:
        return None
