"""Read the project's YAML settings files (configs/, shipped as the data package justrl.configs).

The configs folder is data, not code: reading it through importlib.resources imports nothing of
justrl but its package markers, so this module stays below every other package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from justrl_common.errors import InputError


def load_yaml(name: str, path: Path | None = None) -> dict[str, Any]:
    """Load `name` from the installed configs package, or `path` when a user passes their own copy.

    Reading through importlib.resources keeps the file found whether the project is installed
    editable or as a wheel on a cluster.
    """
    source = path if path is not None else resources.files("justrl.configs").joinpath(name)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"config file {source} not found") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"config file {source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"config file {source}: expected a mapping at top level, got {type(data).__name__}")
    return data
