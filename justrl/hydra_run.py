"""Run a checked command line under hydra.main, with Hydra's output folder failures as one line.

hydra.main writes its run folder (`hydra.run.dir`: `.hydra/` and the job log) before our task
runs, so a full disk or a read-only working directory used to end in Hydra's traceback. Here the
folder is resolved first (so the message can name it) and handed to Hydra as `hydra.run.dir`, and
an OSError raised before the task starts becomes that one line and exit status 2; once the task
runs, errors take Hydra's usual path.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

import hydra
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from justrl.config import RECIPES_PACKAGE, CommandLine, hydra_search_path_override

# Hydra re-raises instead of printing its own report when this is set (hydra._internal.utils.run_and_report).
_RAISE = "HYDRA_FULL_ERROR"
_NO_SPACE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def hydra_run_dir(line: CommandLine) -> Path:
    """The absolute folder Hydra will write for this command line (`hydra.run.dir`, resolved now)."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(config_module=RECIPES_PACKAGE, version_base=None):
            cfg = compose(line.recipe, [hydra_search_path_override(), *line.overrides], return_hydra_config=True)
        return Path(str(OmegaConf.select(cfg, "hydra.run.dir"))).absolute()
    finally:
        GlobalHydra.instance().clear()


def output_error(folder: Path, exc: OSError) -> str:
    """One line: the folder, why it cannot be written, and the fix."""
    if exc.errno in _NO_SPACE:
        why, fix = "no space left", "free space there, or point hydra.run.dir=<a folder with space> elsewhere"
    else:
        why, fix = "not writable", "run from a writable folder, or point hydra.run.dir=<a writable folder> elsewhere"
    return f"Hydra's output folder {folder} cannot be written: {why} ({exc.strerror or exc}); {fix}"


def run_under_hydra(command: str, line: CommandLine, task: Callable[[DictConfig], None]) -> int:
    """Hand the checked command line to hydra.main, so Hydra's own flags (--cfg job --resolve) work.

    Returns the command's exit status: 0, or 2 after one line on stderr when Hydra cannot write its
    output folder.
    """
    folder = hydra_run_dir(line)
    started = False
    raise_before = _RAISE not in os.environ

    def run_task(cfg: DictConfig) -> None:
        nonlocal started
        started = True
        if raise_before:
            del os.environ[_RAISE]  # the task's own errors (and its subprocesses) see the user's setting
        task(cfg)

    sys.argv = [
        command, "--config-name", line.recipe, *line.flags, hydra_search_path_override(), *line.overrides,
        f"hydra.run.dir={folder}",
    ]
    if raise_before:
        os.environ[_RAISE] = "1"
    try:
        hydra.main(config_path=f"pkg://{RECIPES_PACKAGE}", config_name=None, version_base=None)(run_task)()
    except OSError as exc:
        if started:
            raise
        print(f"{command}: error: {output_error(folder, exc)}", file=sys.stderr)
        return 2
    finally:
        if raise_before:
            os.environ.pop(_RAISE, None)
    return 0
