"""One torchrun rank: veRL's own SFT trainer on the config file justrl-sft resolved and checked."""

from __future__ import annotations

import sys

from omegaconf import OmegaConf


def main(argv: list[str] | None = None) -> None:
    from verl.trainer.sft_trainer import run_sft
    from verl.utils.device import auto_set_device

    args = sys.argv[1:] if argv is None else argv
    cfg = OmegaConf.load(args[0])
    auto_set_device(cfg)
    run_sft(cfg)


if __name__ == "__main__":
    main()
