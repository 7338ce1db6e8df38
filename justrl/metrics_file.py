"""Where veRL's `file` logger writes a run's metrics, and that a rerun does not erase them.

veRL's logger writes `./<project>/<experiment>.jsonl` relative to the current directory (with the
project `justrl`, that is inside this repository's own `justrl/` package) and opens it with "wb",
so a resumed or requeued run truncates the steps its earlier attempt logged. The commands place it
beside the checkpoints instead, and move an earlier attempt's file aside first (`metrics.<n>.jsonl`,
n counting attempts). The run's one history is all of them in attempt order, a step that a later
attempt logged again replacing the earlier record (`attempt_files`; justrl.health.history reads it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from omegaconf import DictConfig, ListConfig, open_dict

PATH_ENV = "VERL_FILE_LOGGER_PATH"
FILE_NAME = "metrics.jsonl"


def uses_file_logger(cfg: DictConfig) -> bool:
    loggers = cfg.trainer.get("logger") or []
    return "file" in (list(loggers) if isinstance(loggers, (list, ListConfig)) else [loggers])


def place_metrics_file(cfg: DictConfig) -> Path | None:
    """Point veRL's file logger at the run's folder (unless the user chose a path); returns it.

    An earlier attempt's non-empty file becomes `metrics.<n>.jsonl` (n counts up), so every step
    ever logged stays on disk. Ray's workers get the path through the config's runtime env too,
    for a Ray cluster that was started before this process set it (Slurm).
    """
    if not uses_file_logger(cfg):
        return None
    path = Path(os.environ.get(PATH_ENV) or Path(cfg.trainer.default_local_dir) / FILE_NAME)
    if path.is_file() and path.stat().st_size > 0:
        n = 1
        while (kept := path.with_name(f"{path.stem}.{n}{path.suffix}")).exists():
            n += 1
        path.rename(kept)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.environ[PATH_ENV] = str(path)
    if "ray_kwargs" in cfg:
        with open_dict(cfg):
            env = cfg.ray_kwargs.ray_init.setdefault("runtime_env", {}).setdefault("env_vars", {})
            env[PATH_ENV] = str(path)
    return path


def attempt_files(path: Path) -> list[Path]:
    """The files of one run's metrics history, oldest attempt first: `metrics.1.jsonl`, ..., then
    `metrics.jsonl` itself (the attempt running now, or the last one)."""
    path = Path(path)
    attempt = re.compile(re.escape(path.stem) + r"\.(\d+)" + re.escape(path.suffix))
    earlier = {}
    if path.parent.is_dir():
        for sibling in path.parent.iterdir():
            match = attempt.fullmatch(sibling.name)
            if match and sibling.is_file():
                earlier[int(match.group(1))] = sibling
    return [earlier[n] for n in sorted(earlier)] + ([path] if path.is_file() else [])
