"""`justrl-plot RUN [--out PNG] [--rules NAME|YAML]`: a run's training curves in one PNG, data as CSV.

RUN is veRL's `file` logger output (or a folder holding exactly one such .jsonl), or a
column-oriented JSON history. The health rules give the threshold lines and the stop marker.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from justrl.health.config import HealthConfigError, load_health_config
from justrl.health.history import HistoryError, load_history
from justrl.health.monitor import HealthMonitor
from justrl.health.plot import plot_run
from justrl.health.replay import replay
from justrl.health.rules import RuleError
from justrl.metrics_file import attempt_files
from justrl_common.cli_help import examples_epilog


def resolve_run(run: str) -> Path:
    """The run file itself, or the single .jsonl inside a run folder (its earlier attempts'
    `metrics.<n>.jsonl` beside it are part of its history, not other runs)."""
    path = Path(run)
    if path.is_dir():
        earlier = {p for f in path.glob("*.jsonl") for p in attempt_files(f)[:-1]}
        found = sorted(set(path.glob("*.jsonl")) - earlier)
        if len(found) != 1:
            raise HistoryError(f"{run!r} is a folder with {len(found)} .jsonl files; expected exactly one")
        return found[0]
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="justrl-plot",
        description=__doc__.splitlines()[0],
        epilog=examples_epilog("justrl-plot"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run", help="file-logger JSONL, a folder with one, or a column-oriented JSON history")
    parser.add_argument("--out", help="PNG to write (default: <run name>_curves.png here); CSV goes beside it")
    parser.add_argument("--rules", default="justtinker", help="rule set for thresholds and the stop marker")
    args = parser.parse_args(argv)
    try:
        path = resolve_run(args.run)
        history = load_history(path)
        if not history:
            raise HistoryError(f"{path}: no steps recorded")
        health = load_health_config(args.rules)
        stop = replay(history, HealthMonitor.from_config(health)).stop
        out = Path(args.out) if args.out else Path(f"{path.stem}_curves.png")
        if out.suffix.lower() != ".png":
            raise HistoryError(f"--out {args.out!r}: expected a file name ending in .png")
        out_csv = plot_run(history, out, path.stem, health, stop.step if stop else None)
    except (HealthConfigError, HistoryError, RuleError) as exc:
        print(f"justrl-plot: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an unreadable run file, an unwritable --out, a full disk
        where = exc.filename or args.out or f"{Path(args.run).stem}_curves.png"
        print(f"justrl-plot: error: {exc.strerror or exc}: {where}; check the path, --out and free space", file=sys.stderr)
        return 2
    print(f"wrote {out} and {out_csv} ({len(history)} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
