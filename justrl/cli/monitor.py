"""`justrl-monitor replay FILE [--rules NAME|YAML] [KEY=VALUE ...]`: judge a recorded run after the fact.

Prints every warning the health monitor would have raised, by step, then one last line saying at
which step it would have stopped the run, or that it would not have stopped it.
"""

from __future__ import annotations

import argparse
import sys

from justrl.health.config import HealthConfigError, load_health_config, packaged_rule_sets
from justrl.health.history import HistoryError, load_history
from justrl.health.monitor import HealthMonitor
from justrl.health.replay import replay
from justrl.health.rules import RuleError
from justrl_common.cli_help import examples_epilog


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="justrl-monitor",
        description=__doc__.splitlines()[0],
        epilog=examples_epilog("justrl-monitor"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rep = commands.add_parser("replay", help="replay a recorded run through the health monitor")
    rep.add_argument("file", help="veRL file-logger JSONL, or a column-oriented JSON history")
    rep.add_argument(
        "--rules",
        default="justtinker",
        help=f"packaged rule set ({', '.join(packaged_rule_sets())}) or a YAML file with justrl.health "
        "(default: justtinker)",
    )
    rep.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="changes relative to justrl.health, e.g. early_stop.patience=5 rules.redundancy_high=null",
    )
    return parser


def run_replay(args: argparse.Namespace) -> int:
    health = load_health_config(args.rules, args.overrides)
    monitor = HealthMonitor.from_config(health)
    notes: list[str] = []
    history = load_history(args.file, notes)
    if not history:
        raise HistoryError(f"{args.file}: no steps recorded")
    early = health.get("early_stop", {}).get("enabled", False)
    print(
        f"replaying {args.file}: {len(history)} steps ({history[0][0]}..{history[-1][0]}), "
        f"rules {args.rules!r}, early stopping {'on' if early else 'off'}"
    )
    for note in notes:
        print(f"note: {note}")
    result = replay(history, monitor)
    for warning in result.warnings:
        print(warning.line)
    if result.stop is not None:
        print(f"would STOP at step {result.stop.step}: {result.stop.reason}")
    else:
        why = "" if early else " (early stopping is off in these rules)"
        print(f"would not stop: {result.steps_seen} steps, {len(result.warnings)} warnings{why}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run_replay(args)
    except (HealthConfigError, HistoryError, RuleError) as exc:
        print(f"justrl-monitor: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a run file or rules file this user cannot read
        print(f"justrl-monitor: error: {exc.strerror or exc}: {exc.filename or args.file}; check the path and its permissions", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
