"""One torchrun rank: veRL's own SFT trainer on the config file justrl-sft resolved and checked."""

from __future__ import annotations

import sys

from omegaconf import DictConfig, OmegaConf


def run_sft_on_cpu(cfg: DictConfig) -> None:
    """veRL's `run_sft`, but in a gloo process group (justrl.cpu.distributed says why).

    `run_sft` joins the process group unconditionally with a backend string torch rejects on
    device `cpu`, so on a CPU run its three steps are taken here; tests/trainer/test_cpu_backend.py
    checks that `run_sft` is still exactly those steps in the installed veRL.
    """
    from verl.trainer.sft_trainer import SFTTrainer
    from verl.utils.distributed import destroy_global_process_group

    from justrl.cpu.distributed import init_gloo_process_group, register_fsdp_engine

    register_fsdp_engine()
    init_gloo_process_group()
    trainer = SFTTrainer(config=cfg)
    trainer.fit()
    destroy_global_process_group()


def main(argv: list[str] | None = None) -> None:
    from verl.trainer.sft_trainer import run_sft
    from verl.utils.device import auto_set_device

    from justrl.cpu.launch import is_cpu_run

    args = sys.argv[1:] if argv is None else argv
    cfg = OmegaConf.load(args[0])
    auto_set_device(cfg)
    if is_cpu_run(cfg):
        run_sft_on_cpu(cfg)
    else:
        run_sft(cfg)


if __name__ == "__main__":
    main()
