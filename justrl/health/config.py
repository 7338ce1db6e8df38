"""Load `justrl.health` settings: a packaged rule set by name (the Hydra group `health`) or a YAML file.

Composing through Hydra, like the recipes do, keeps `justrl-monitor replay --rules justrl` and a
training run with `- /health: justrl` reading exactly the same thresholds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from justrl.config import CONFIGS_PACKAGE, group_options

GROUP = "health"


class HealthConfigError(ValueError):
    """A rule set that cannot be found or read; the message says which and what was expected."""


def packaged_rule_sets() -> list[str]:
    """Names of the YAML files in the `health` config group (e.g. justrl, justtinker)."""
    return group_options(GROUP)


def _compose_packaged(name: str) -> DictConfig:
    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(CONFIGS_PACKAGE, version_base=None):
            return compose(config_name=f"{GROUP}/{name}")
    finally:
        GlobalHydra.instance().clear()


_UNKNOWN = object()


def load_health_config(rules: str = "justtinker", overrides: list[str] | None = None) -> dict[str, Any]:
    """The `justrl.health` mapping of a packaged rule set or YAML file, with `key=value` overrides
    relative to `justrl.health` (e.g. `early_stop.patience=5`)."""
    path = Path(rules)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise HealthConfigError(f"rules file {rules!r} does not exist")
        try:
            cfg = OmegaConf.load(path)
        except (OmegaConfBaseException, OSError, ValueError) as exc:
            raise HealthConfigError(f"rules file {rules!r} is not valid YAML: {exc}") from None
    elif rules in packaged_rule_sets():
        cfg = _compose_packaged(rules)
    else:
        raise HealthConfigError(
            f"--rules {rules!r}: expected one of {', '.join(packaged_rule_sets())} or a .yaml file"
        )
    health = OmegaConf.select(cfg, "justrl.health")
    if not isinstance(health, DictConfig):
        raise HealthConfigError(f"rules {rules!r} has no `justrl.health` mapping")
    for override in overrides or []:
        key = override.split("=", 1)[0]
        if OmegaConf.select(health, key, default=_UNKNOWN) is _UNKNOWN:
            raise HealthConfigError(
                f"unknown key {key!r} in {override!r}; expected a key of justrl.health in rules {rules!r} "
                f"(e.g. early_stop.patience=5 or rules.redundancy_high=null)"
            )
    OmegaConf.set_struct(health, False)
    try:
        health = OmegaConf.merge(health, OmegaConf.from_dotlist(list(overrides or [])))
    except OmegaConfBaseException as exc:
        raise HealthConfigError(f"bad override in {overrides}: {str(exc).splitlines()[0]}") from None
    return OmegaConf.to_container(health, resolve=True)
