"""`justrl-sft recipe=NAME [overrides]`: compose an SFT recipe on veRL's sft_trainer_engine config,
preflight it, then run veRL's own FSDP SFT trainer under torchrun on this node's GPUs.

`--check` runs only the preflight and prints the plan (no GPU needed); Hydra's own flags work as
with veRL's trainer, e.g. `--cfg job --resolve` prints the composed config.
"""

from __future__ import annotations

import functools
import os
import sys

from omegaconf import DictConfig

from justrl.cli.check import print_report
from justrl.cli.usage import render_help, wants_help
from justrl.config import ConfigError, LaunchError, parse_command_line
from justrl.hydra_run import run_under_hydra

COMMAND = "justrl-sft"
CHECK_FLAG = "--check"


def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count()


def _sft(cfg: DictConfig, recipe: str) -> None:
    from justrl.checkpoints import CheckpointError
    from justrl.cpu.launch import is_cpu_run, prepare as prepare_cpu_run
    from justrl.metrics_file import place_metrics_file
    from justrl.run_lock import RunFolderBusy
    from justrl.sft.launch import check_gpus, exec_torchrun
    from justrl.sft.preflight import run_sft_checks
    from justrl.sft.run_folder import settled

    try:
        if is_cpu_run(cfg):
            prepare_cpu_run(cfg)
        else:
            check_gpus(cfg, recipe, _gpu_count())
        report = run_sft_checks(cfg)
        if not report.ok:
            print_report(recipe, report, COMMAND)
            sys.exit(1)
        with settled(cfg, os.environ):
            place_metrics_file(cfg)
            exec_torchrun(cfg)
    except (LaunchError, RunFolderBusy, CheckpointError) as exc:
        print(f"{COMMAND}: error: {exc}", file=sys.stderr)
        sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if wants_help(argv):
        print(render_help(COMMAND))
        return 0
    check_only = CHECK_FLAG in argv
    try:
        line = parse_command_line([a for a in argv if a != CHECK_FLAG], "sft", COMMAND, check_only)
    except ConfigError as exc:
        print(f"{COMMAND}: error: {exc}", file=sys.stderr)
        return 2
    if check_only:
        # Imported here: the preflight pulls in veRL's reward scorers, seconds `--help` should not wait for.
        from justrl.sft.preflight import run_sft_checks

        report = run_sft_checks(line.config)
        print_report(line.recipe, report, COMMAND)
        return 0 if report.ok else 1
    return run_under_hydra(COMMAND, line, functools.partial(_sft, recipe=line.recipe))


if __name__ == "__main__":
    sys.exit(main())
