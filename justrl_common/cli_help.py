"""configs/cli_help.yaml, read for every command's help: the argparse commands (justrl-prep among
them) take their examples from here, and justrl/cli/usage.py renders the Hydra commands' full help."""

from __future__ import annotations

from justrl_common.config import load_yaml


def help_specs() -> dict[str, dict]:
    """configs/cli_help.yaml: per command, its usage, purpose, groups, common keys and examples
    (read without Hydra, so the argparse commands' --help stays instant)."""
    return load_yaml("cli_help.yaml")


def examples_epilog(command: str) -> str:
    """The examples of an argparse command, for its parser's epilog (RawDescriptionHelpFormatter)."""
    return "\n".join(["examples:", *(f"  {example}" for example in help_specs()[command]["examples"])])
