"""justrl-grade DIR: grade justrl-eval's JSONL on CPU and write results.json / results.md."""

from __future__ import annotations

import argparse
import math
import sys
from importlib import resources
from pathlib import Path

import yaml

from justrl.eval.results import GradeInputError, grade_dir
from justrl_common.cli_help import examples_epilog


def _defaults() -> dict:
    return yaml.safe_load(resources.files("justrl.configs").joinpath("eval/grade.yaml").read_text("utf-8"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = _defaults()
    parser = argparse.ArgumentParser(
        prog="justrl-grade",
        description="Grade the <BENCHMARK>.jsonl files of an evaluation directory (CPU only).",
        epilog=examples_epilog("justrl-grade"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dir", type=Path, help="the out= directory of justrl-eval")
    parser.add_argument("--benchmarks", nargs="+", help="grade only these files (default: every *.jsonl)")
    parser.add_argument("--verifier", default=defaults["verifier"], help="reward_fns verifier (default %(default)s)")
    parser.add_argument("--workers", type=int, default=defaults["workers"], help="worker processes (default: all cores)")
    parser.add_argument(
        "--timeout", type=float, default=defaults["timeout_s"], help="hard seconds per response (default %(default)s)"
    )
    parser.add_argument("--label", help="name of this run's row in the table (default: the model's name)")
    parser.add_argument("--base-model", help="backbone whose published rows to show (default: from run.json)")
    parser.add_argument("--wandb-project", help="also log the tables to this W&B project")
    parser.add_argument("--wandb-entity", help="W&B entity (team) for --wandb-project")
    parser.add_argument("--wandb-name", help="W&B run name (default: the row label)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    args.verifier_options = defaults.get("verifier_options") or {}
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workers is not None and args.workers < 1:
        print(f"justrl-grade: --workers must be a positive integer, got {args.workers}", file=sys.stderr)
        return 2
    if not 0 < args.timeout < math.inf:  # nan fails both comparisons
        print(f"justrl-grade: --timeout must be a positive finite number of seconds, got {args.timeout}", file=sys.stderr)
        return 2
    try:
        results = grade_dir(
            args.dir,
            names=args.benchmarks,
            verifier=args.verifier,
            options=args.verifier_options,
            workers=args.workers,
            timeout_s=args.timeout,
            label=args.label,
            base_model=args.base_model,
            progress=not args.no_progress,
        )
    except (GradeInputError, ValueError) as exc:
        print(f"justrl-grade: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an unreadable input or unwritable results file, a full disk
        print(
            f"justrl-grade: {exc.strerror or exc}: {exc.filename or args.dir}; check that {args.dir} is readable "
            f"and writable and that its disk (and /dev/shm, for the grading workers) has free space",
            file=sys.stderr,
        )
        return 2
    print((args.dir / "results.md").read_text(encoding="utf-8"))
    if not any(b["samples"] for b in results["benchmarks"].values()):
        print(
            f"justrl-grade: error: no response in {args.dir} could be graded; expected JSONL lines with "
            f"'index', 'ground_truth' and 'responses' (README, \"Evaluation output\")",
            file=sys.stderr,
        )
        return 1
    if args.wandb_project:
        from justrl.eval.wandb_log import log_results

        run_dir = log_results(results, args.wandb_project, args.dir, args.wandb_entity, args.wandb_name)
        print(f"justrl-grade: logged the tables to W&B project {args.wandb_project} ({run_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
