"""One torchrun rank: veRL's own SFT trainer on the config file justrl-sft resolved and checked."""

from __future__ import annotations

import sys

from omegaconf import DictConfig, OmegaConf


def run_sft(cfg: DictConfig, cpu: bool) -> None:
    """veRL's `run_sft` with two changes: the trainer marks each finished save complete
    (justrl.sft.run_folder), and on a CPU run the process group is gloo (justrl.cpu.distributed says
    why: `run_sft` joins it with a backend string torch rejects on device `cpu`).

    tests/trainer/test_cpu_backend.py checks that `run_sft` is still exactly these steps in the
    installed veRL.
    """
    from verl.utils.distributed import destroy_global_process_group, initialize_global_process_group

    from justrl.cpu.distributed import init_gloo_process_group, register_fsdp_engine
    from justrl.sft.run_folder import marked_trainer_class, release_lock

    if cpu:
        register_fsdp_engine()
        init_gloo_process_group()
    else:
        initialize_global_process_group()
    trainer = marked_trainer_class()(config=cfg)
    trainer.fit()
    destroy_global_process_group()
    release_lock(cfg)


def main(argv: list[str] | None = None) -> None:
    from verl.utils.device import auto_set_device

    from justrl.cpu.launch import is_cpu_run

    args = sys.argv[1:] if argv is None else argv
    cfg = OmegaConf.load(args[0])
    auto_set_device(cfg)
    run_sft(cfg, cpu=is_cpu_run(cfg))


if __name__ == "__main__":
    main()
