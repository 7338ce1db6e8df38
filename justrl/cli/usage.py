"""`--help` / `-h` for the Hydra-configured commands (train, check, sft, eval, format-check).

Hydra's own help needs a composed config, so it answered "no recipe given" before a recipe was
named, and the compose-API commands parsed `--help` as an override. One renderer, fed by
configs/cli_help.yaml and the config folders themselves, answers for all five instead.
"""

from __future__ import annotations

import textwrap

import yaml

from justrl_common.cli_help import examples_epilog, help_specs

HELP_FLAGS = ("--help", "-h")
WIDTH = 100


def wants_help(argv: list[str]) -> bool:
    return any(arg in HELP_FLAGS for arg in argv)


def recipes_of_kind(kind: str) -> list[str]:
    """The recipes of one kind, from each recipe file's first defaults entry (help must be instant;
    composing every recipe takes seconds each)."""
    from justrl.config import available_recipes, recipes_dir

    kinds = help_specs()["recipe_kinds"]
    names = []
    for name in available_recipes():
        defaults = yaml.safe_load((recipes_dir() / f"{name}.yaml").read_text("utf-8")).get("defaults") or [None]
        if kinds.get(defaults[0]) == kind:
            names.append(name)
    return names


def _listing(title: str, rows: dict[str, str]) -> list[str]:
    width = max(len(name) for name in rows) + 2
    return ["", title, *(f"  {name:<{width}}{text}" for name, text in rows.items())]


def _benchmarks() -> dict[str, str]:
    from data_prep.benchmarks import load_registry

    registry = load_registry()
    return {
        "the nine (all)": ", ".join(f"{s.name} (N={s.samples})" for s in registry.benchmarks.values()),
        "extras": ", ".join(registry.extras) + " (small experiments; not in the JustRL table)",
    }


def render_help(command: str) -> str:
    """The full help text of `command`, with recipes and group options read from configs/ now."""
    from justrl.config import group_options

    spec = help_specs()[command]
    lines = [f"usage: {spec['usage']}", "", textwrap.fill(spec["about"], WIDTH)]
    if "kind" in spec:
        kind = spec["kind"]
        lines += ["", f"recipes ({kind.upper()}; recipe=NAME picks one): {', '.join(recipes_of_kind(kind))}"]
    if "groups" in spec:
        options = {group: ", ".join(group_options(group)) for group in spec["groups"]}
        lines += _listing("config groups (GROUP=OPTION swaps a whole group):", options)
    if spec.get("benchmarks"):
        lines += _listing("benchmarks (benchmarks=NAME or [NAME,...]):", _benchmarks())
    lines += _listing(
        "keys people change most (any key of the config is KEY=VALUE; a new one is +KEY=VALUE):", spec["keys"]
    )
    if spec.get("hydra"):
        lines += _listing(
            "Hydra flags:",
            {"--cfg job [--resolve]": "print the composed config and exit (no GPU needed)",
             "--info [config|defaults|searchpath]": "Hydra's information about the composition"},
        )
    return "\n".join([*lines, "", examples_epilog(command)])
