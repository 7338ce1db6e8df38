"""Compose a recipe's config the way Hydra would, and turn Hydra's failures into one-line errors.

Every command (justrl-train, justrl-check, the Slurm scripts) composes through here, so a user who
misspells a key sees the same short message everywhere instead of a Hydra stack trace.
"""

from __future__ import annotations

import difflib
import importlib.resources
import re
from dataclasses import dataclass
from pathlib import Path

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from justrl.overrides import override_key, override_value

RECIPES_PACKAGE = "justrl.recipes"
CONFIGS_PACKAGE = "justrl.configs"
SEARCH_PATH = ["pkg://verl.trainer.config", f"pkg://{CONFIGS_PACKAGE}"]


class ConfigError(ValueError):
    """A problem with the user's recipe or overrides, worded for the user, on one line."""


class LaunchError(RuntimeError):
    """The job cannot start on this machine (no GPUs, too few GPUs, no Ray cluster)."""


def recipes_dir() -> Path:
    return Path(str(importlib.resources.files(RECIPES_PACKAGE)))


def _yaml_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.yaml"))


def available_recipes() -> list[str]:
    return _yaml_names(recipes_dir())


def group_options(group: str) -> list[str]:
    """The options of one of our config groups (`configs/<group>/*.yaml`), e.g. cluster or health."""
    return _yaml_names(Path(str(importlib.resources.files(CONFIGS_PACKAGE))) / group)


def split_recipe(argv: list[str]) -> tuple[str, list[str]]:
    """Take `recipe=NAME` out of the command line; the rest are Hydra overrides or flags."""
    recipe = None
    rest = []
    for arg in argv:
        if override_key(arg) == "recipe":
            recipe = override_value([arg], "recipe")
        else:
            rest.append(arg)
    names = available_recipes()
    if recipe is None:
        raise ConfigError(f"no recipe given; pass recipe=NAME with NAME one of: {', '.join(names)}")
    if recipe not in names:
        close = difflib.get_close_matches(recipe, names, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"unknown recipe '{recipe}'{hint}; available: {', '.join(names)}")
    return recipe, rest


# Which command runs a recipe of each kind (the recipe's `justrl.kind`), and which only checks it.
COMMANDS = {"rl": "justrl-train recipe={recipe}", "sft": "justrl-sft recipe={recipe}"}
CHECK_COMMANDS = {"rl": "justrl-check recipe={recipe}", "sft": "justrl-sft recipe={recipe} --check"}


def recipe_kind(recipe: str) -> str:
    """`rl` or `sft`, from the recipe's own `justrl.kind` (composed without user overrides)."""
    return str(OmegaConf.select(_compose(recipe, []), "justrl.kind", default="rl"))


def require_kind(recipe: str, kind: str, command: str, check_only: bool = False) -> None:
    """Refuse a recipe of the other stage before any of its overrides are read; a user who only
    checks is pointed to the other stage's check, not to the GPU command."""
    actual = recipe_kind(recipe)
    if actual != kind:
        same = [name for name in available_recipes() if recipe_kind(name) == kind]
        fix = (CHECK_COMMANDS if check_only else COMMANDS)[actual].format(recipe=recipe)
        verb = "check it" if check_only else "run it"
        raise ConfigError(
            f"recipe '{recipe}' is an {actual.upper()} recipe; {verb} with `{fix}` "
            f"({command} takes the {kind.upper()} recipes: {', '.join(same)})"
        )


def hydra_search_path_override() -> str:
    return f"hydra.searchpath=[{','.join(SEARCH_PATH)}]"


def compose_recipe(recipe: str, overrides: list[str]) -> DictConfig:
    """Compose recipe + overrides with Hydra's compose API, checking override types as well."""
    values = [o for o in overrides if _is_value_override(o)]
    base = _compose(recipe, [o for o in overrides if o not in values])
    if not values:
        return base
    cfg = _compose(recipe, overrides)
    _check_override_types(base, cfg, values)
    return cfg


def _is_value_override(override: str) -> bool:
    """`a.b=1` sets a value; `cluster=gpu_1`, `~/health` and `hydra.*` choose or drop configs."""
    key = override_key(override)
    return key is not None and "." in key and not override.startswith(("~", "hydra.")) and "@" not in key


def _compose(recipe: str, overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(config_module=RECIPES_PACKAGE, version_base=None):
            return compose(config_name=recipe, overrides=[hydra_search_path_override(), *overrides])
    except (HydraException, OmegaConfBaseException) as exc:
        choices = [o for o in overrides if not _is_value_override(o)]
        raise ConfigError(_explain(exc, recipe, choices)) from None
    finally:
        GlobalHydra.instance().clear()


def _explain(exc: Exception, recipe: str, choices: list[str]) -> str:
    """Reduce a Hydra/OmegaConf exception to its useful line, with a key suggestion when we can."""
    text = f"{exc}\n{exc.__cause__ or ''}"
    missing = re.search(r"Could not override '([^']+)'", text)
    if missing and "not in struct" in text:
        key = missing.group(1)
        hint = _suggest_key(recipe, key, choices)
        return f"unknown key '{key}'{hint}; to add a new key on purpose write +{key}=VALUE"
    if "Could not find" in text and "in the defaults list" not in text:
        group_option = re.search(r"Could not find '([^']+)'", text)
        if group_option:
            group = group_option.group(1).split("/")[0]
            options = group_options(group)
            listing = f"; available {group} options: {', '.join(options)}" if options else ""
            return f"unknown config choice '{group_option.group(1)}'{listing}"
    lines = [line.strip() for line in text.splitlines() if line.strip() and "hydra.cc" not in line]
    if "Error parsing override" in text or "no viable alternative" in text:
        return f"{'; '.join(lines)} (overrides are written key=value, e.g. trainer.total_epochs=2)"
    return lines[0] if lines else type(exc).__name__


def _suggest_key(recipe: str, key: str, choices: list[str]) -> str:
    parent, _, leaf = key.rpartition(".")
    cfg = _compose(recipe, choices)
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if not isinstance(node, DictConfig):
        return ""
    close = difflib.get_close_matches(leaf, [str(k) for k in node.keys()], n=1)
    return f" (did you mean {parent + '.' if parent else ''}{close[0]}?)" if close else ""


_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number"}


def _check_override_types(base: DictConfig, cfg: DictConfig, overrides: list[str]) -> None:
    """Catch `data.train_batch_size=abc`: YAML nodes are untyped, so Hydra would accept it."""
    for override in overrides:
        key = override_key(override)
        expected = OmegaConf.select(base, key, throw_on_missing=False)
        got = OmegaConf.select(cfg, key, throw_on_missing=False)
        expected_type = type(expected)
        if expected_type not in _TYPE_NAMES or isinstance(got, expected_type):
            continue
        if expected_type is float and isinstance(got, int) and not isinstance(got, bool):
            continue
        raise ConfigError(
            f"{key}={got!r} has the wrong type: expected {_TYPE_NAMES[expected_type]} "
            f"(the recipe's value is {expected!r})"
        )


# Hydra flags that take a value, so the value is not mistaken for an override.
_FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p", "--info", "-i"}
_FLAG_VALUES = {"job", "hydra", "all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}


def split_hydra_flags(args: list[str]) -> tuple[list[str], list[str]]:
    flags: list[str] = []
    overrides: list[str] = []
    expect_value = False
    for arg in args:
        if expect_value and arg in _FLAG_VALUES:
            flags.append(arg)
            expect_value = False
        elif arg.startswith("-"):
            flags.append(arg)
            expect_value = arg in _FLAGS_WITH_VALUE
        else:
            overrides.append(arg)
            expect_value = False
    return flags, overrides


@dataclass(frozen=True)
class CommandLine:
    """A recipe command line, checked: the recipe, Hydra's own flags, the overrides, the composed config."""

    recipe: str
    flags: list[str]
    overrides: list[str]
    config: DictConfig


def parse_command_line(argv: list[str], kind: str, command: str, check_only: bool = False) -> CommandLine:
    """Everything a recipe command checks before Hydra runs it; raises ConfigError with one line."""
    recipe, rest = split_recipe(argv)
    require_kind(recipe, kind, command, check_only)
    flags, overrides = split_hydra_flags(rest)
    return CommandLine(recipe, flags, overrides, compose_recipe(recipe, overrides))

