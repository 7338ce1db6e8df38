"""`justrl-check recipe=NAME [overrides]`: the preflight, runnable on a login node without a GPU."""

from __future__ import annotations

import sys

from justrl.cli.usage import render_help, wants_help
from justrl.config import ConfigError, compose_recipe, require_kind, split_recipe
from justrl.preflight import Report, run_checks


def print_report(recipe: str, report: Report, command: str = "justrl-check") -> None:
    print(f"{command}: recipe {recipe}")
    for key, value in report.plan.items():
        print(f"  {key:<40} {value}")
    for note in report.notes:
        print(f"note: {note}")
    for problem in report.problems:
        print(f"error: {problem}")
    print("all checks passed" if report.ok else f"{len(report.problems)} problem(s) found")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if wants_help(argv):
        print(render_help("justrl-check"))
        return 0
    try:
        recipe, overrides = split_recipe(argv)
        require_kind(recipe, "rl", "justrl-check", check_only=True)
        cfg = compose_recipe(recipe, overrides)
    except ConfigError as exc:
        print(f"justrl-check: error: {exc}", file=sys.stderr)
        return 2
    report = run_checks(cfg)
    print_report(recipe, report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
