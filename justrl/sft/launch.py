"""Start veRL's SPMD SFT trainer under torchrun, one process per GPU, on one node or many.

`justrl-sft` runs once per node (Slurm: `srun --ntasks-per-node=1`); each copy starts torchrun
for its node's GPUs with the same resolved config file, so every rank trains exactly what the
preflight checked, not a second composition of the command line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from justrl.config import LaunchError

DEFAULT_PORT = "29500"


def check_gpus(cfg: DictConfig, recipe: str, found: int) -> None:
    need = cfg.trainer.n_gpus_per_node
    if found == 0:
        raise LaunchError(
            f"no GPU on this machine; SFT runs on GPU nodes (slurm/sft.sbatch). Here, "
            f"`justrl-sft recipe={recipe} --check` validates the config and data and prints the plan, and "
            f"`justrl-sft recipe={recipe} cluster=cpu_sft` runs it on the CPU backend (small models only)"
        )
    if found < need:
        raise LaunchError(
            f"this node has {found} GPU(s) but trainer.n_gpus_per_node={need}; pass trainer.n_gpus_per_node={found} "
            f"(data.train_batch_size must still split over the GPUs)"
        )


def node_rank(env: Mapping[str, str]) -> str | None:
    """This node's rank: torchrun's NODE_RANK when set, else the one srun gives each node."""
    return env.get("NODE_RANK", env.get("SLURM_NODEID"))


def torchrun_command(cfg: DictConfig, config_file: Path, env: Mapping[str, str]) -> list[str]:
    """torchrun for this node: standalone on one node; static rendezvous on MASTER_ADDR otherwise."""
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={cfg.trainer.n_gpus_per_node}"]
    nnodes = cfg.trainer.nnodes
    if nnodes == 1:
        cmd.append("--standalone")
    else:
        if not env.get("MASTER_ADDR"):
            raise LaunchError(
                f"trainer.nnodes={nnodes} needs MASTER_ADDR (the first node's address) and one justrl-sft per node; "
                f"submit slurm/sft.sbatch, which sets both"
            )
        rank = node_rank(env)
        if rank is None:
            raise LaunchError("multi-node SFT needs this node's rank in NODE_RANK or SLURM_NODEID (set by srun)")
        cmd += [
            f"--nnodes={nnodes}",
            f"--node_rank={rank}",
            f"--master_addr={env['MASTER_ADDR']}",
            f"--master_port={env.get('MASTER_PORT', DEFAULT_PORT)}",
        ]
    return [*cmd, "-m", "justrl.sft.worker", str(config_file)]


def write_run_config(cfg: DictConfig, env: Mapping[str, str]) -> Path:
    """The resolved config beside the checkpoints: what every rank reads, and a record of the run."""
    out = Path(cfg.trainer.default_local_dir)
    out.mkdir(parents=True, exist_ok=True)
    rank = node_rank(env)
    path = out / f"justrl_sft_config.node{'0' if rank is None else rank}.yaml"
    OmegaConf.save(cfg, path, resolve=True)
    return path


def exec_torchrun(cfg: DictConfig) -> None:
    """Replace this process with torchrun, so Slurm's signals reach the trainer directly."""
    env = dict(os.environ)
    cmd = torchrun_command(cfg, write_run_config(cfg, env), env)
    print(f"justrl-sft: {' '.join(cmd)}", flush=True)
    os.execvpe(cmd[0], cmd, env)
