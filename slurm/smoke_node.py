"""The per-node program of the smoke mode (slurm/sft.sbatch with JUSTRL_SMOKE=1), in place of justrl-sft.

A per-node job is right when each node's copy sees its own node rank, the same master address and
port, the same run identity and the overrides byte for byte. This prints all of that, and the
torchrun command that justrl-sft's own launcher (justrl.sft.launch) would exec on this node with
this environment, so the multi-node wiring is checked on a real Slurm without GPUs or a model.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from omegaconf import OmegaConf

from justrl.overrides import override_value
from justrl.sft.launch import torchrun_command

PREFIX = "smoke-node:"


def main(argv: list[str]) -> int:
    env = os.environ
    print(
        f"{PREFIX} node={env.get('SLURMD_NODENAME')} node_id={env.get('SLURM_NODEID')} "
        f"proc_id={env.get('SLURM_PROCID')} ntasks={env.get('SLURM_NTASKS')} "
        f"master={env.get('MASTER_ADDR')}:{env.get('MASTER_PORT')} run_id={env.get('JUSTRL_RUN_ID')} "
        f"run_dir={env.get('JUSTRL_RUN_DIR')} ray_address={env.get('RAY_ADDRESS')}"
    )
    for arg in argv:
        print(f"{PREFIX} override: {arg}")
    trainer = {
        "nnodes": int(override_value(argv, "trainer.nnodes") or 1),
        "n_gpus_per_node": int(override_value(argv, "trainer.n_gpus_per_node") or 0),
    }
    command = torchrun_command(OmegaConf.create({"trainer": trainer}), Path("config.yaml"), env)
    print(f"{PREFIX} torchrun: {' '.join(command[1:])}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
