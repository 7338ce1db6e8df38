"""How many cores each of the CPU backend's Ray actors computes on.

Ray starts an actor that asks for no CPU share with OMP_NUM_THREADS=1, so every FSDP rank and every
rollout server would compute on one core: with one rank a node (the SmolLM2 laptop recipe, which
saves a second copy of the model, its optimizer and its rollout server) the other cores sit idle.
Ranks and servers never compute at once (generation, then the update), so each takes an equal share
of the node's cores among the processes of its kind on that node.
"""

from __future__ import annotations

import os

import torch


def share_of_cores(processes_on_node: int) -> int:
    """The cores this process may use, split evenly among `processes_on_node` like it (at least 1)."""
    return max(1, len(os.sched_getaffinity(0)) // max(1, processes_on_node))


def compute_on_share_of_cores(processes_on_node: int) -> None:
    torch.set_num_threads(share_of_cores(processes_on_node))
