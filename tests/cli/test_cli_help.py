"""`--help` and `-h` on every command: exit 0, what it does, recipes, groups, common keys, examples;
and the help cannot drift from the configs (its keys, recipes and examples are checked here)."""

from __future__ import annotations

import importlib
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

from justrl.cli.eval import load_config
from justrl.cli.usage import recipes_of_kind
from justrl.config import available_recipes, compose_recipe, group_options, parse_command_line, recipe_kind
from justrl_common.cli_help import help_specs

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
HYDRA_COMMANDS = ["justrl-train", "justrl-check", "justrl-sft", "justrl-eval", "justrl-format-check"]


def has_key(cfg: DictConfig, key: str) -> bool:
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    return isinstance(node, DictConfig) and leaf in node.keys()  # `in node` is False for a ??? value


def entry(command: str):
    module, _, function = SCRIPTS[command].partition(":")
    return getattr(importlib.import_module(module), function)


def help_text(command: str, flag: str, capsys) -> str:
    try:
        code = entry(command)([flag])
    except SystemExit as exc:  # argparse's help exits
        code = exc.code
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("command", sorted(SCRIPTS))
def test_every_command_answers_help_with_two_examples(command, flag, capsys):
    text = help_text(command, flag, capsys)
    assert text.startswith("usage: " + command) or text.startswith(f"usage: {command} ")
    examples = text.split("\nexamples:\n", 1)[1].splitlines()
    assert len([line for line in examples if line.startswith(f"  {command} ")]) == 2


@pytest.mark.parametrize("command", ["justrl-train", "justrl-check", "justrl-sft"])
def test_recipe_commands_list_recipes_groups_and_hydra_flags(command, capsys):
    text = help_text(command, "--help", capsys)
    spec = help_specs()[command]
    assert f"recipe=NAME picks one): {', '.join(recipes_of_kind(spec['kind']))}" in text
    for group in spec["groups"]:
        assert f"  {group}" in text and ", ".join(group_options(group)) in text
    assert ("--cfg job [--resolve]" in text) == (command != "justrl-check")


def test_eval_help_names_the_keys_people_change(capsys):
    text = help_text("justrl-eval", "-h", capsys)
    for key in ("n", "benchmarks", "limit", "engine.kind", "out"):
        assert f"\n  {key} " in text
    assert "AIME24 (N=32)" in text and "MATH-500 (N=4)" in text and "GSM8K-test" in text


def test_recipe_kinds_read_without_composing_agree_with_the_composed_kind():
    for kind in ("rl", "sft"):
        assert recipes_of_kind(kind) == [name for name in available_recipes() if recipe_kind(name) == kind]


def test_listed_keys_exist_and_examples_parse():
    specs = help_specs()
    for command in ("justrl-train", "justrl-check", "justrl-sft"):
        spec = specs[command]
        cfg = compose_recipe(recipes_of_kind(spec["kind"])[0], [])
        for key in spec["keys"]:
            assert has_key(cfg, key), (command, key)
        for example in spec["examples"]:
            argv = [a for a in shlex.split(example)[1:] if a != "--check"]
            parse_command_line(argv, spec["kind"], command)
    for command, name in (("justrl-eval", "default"), ("justrl-format-check", "format_check")):
        cfg = load_config([], name)
        for key in specs[command]["keys"]:
            assert has_key(cfg, key), (command, key)
        for example in specs[command]["examples"]:
            load_config(shlex.split(example)[1:], name)


@pytest.mark.parametrize("command", ["justrl-eval", "justrl-train"])
def test_installed_script_answers_help(command, tmp_path):
    """The two that failed before (a Hydra lexer error; "no recipe given"), as a user runs them."""
    out = subprocess.run([command, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"usage: {command}") and out.stderr == ""
