"""The one reader of Hydra's `key=value` overrides on a command line, for the code that needs a
value before Hydra composes anything: justrl.config (which overrides set values), the Slurm
bootstrap (the run name, the allocation's and resume keys the user left out) and its smoke jobs.

`python -m justrl.overrides ARG...` prints, for each key the arguments set, the key and its last
value, each ended by a NUL byte, for slurm/ray_on_slurm.sh to read without parsing them itself.
"""

from __future__ import annotations

import sys


def override_key(arg: str) -> str | None:
    """The key an override sets: `++trainer.nnodes=4` -> `trainer.nnodes`; None for an argument
    without `=` (a flag, `~group` on its own)."""
    name, sep, _ = arg.partition("=")
    return name.lstrip("+~") if sep else None


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def override_values(args: list[str]) -> dict[str, str]:
    """{key: value} of the overrides in `args`, the last one of each key winning (as in Hydra), the
    value's surrounding quotes stripped."""
    values = {}
    for arg in args:
        key = override_key(arg)
        if key is not None:
            values[key] = _unquoted(arg.partition("=")[2])
    return values


def override_value(args: list[str], key: str) -> str | None:
    """The value the last override of `key` in `args` sets, or None when none does."""
    return override_values(args).get(key)


def main(argv: list[str]) -> int:
    out = sys.stdout
    for key, value in override_values(argv).items():
        out.write(f"{key}\0{value}\0")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
