"""LoRA against full fine-tuning on SmolLM2-135M-Instruct, in one run, for --steps N each:

    full   justrl-train recipe=smollm2_justtinker, every weight trained
    LoRA   the same command with lora_vs_full.yaml's adapter: JustTinker's rank 128 on every linear
           layer and the output head, the base frozen, LoRA's learning rate

Both start from the same model folder (--model, default the base SmolLM2 of `justrl-prep smollm2`;
the cold-started model of cpu_pipeline.py is the one that learns), read the same three-term sums
with the same seed, so the first step's batch is the same, and are merged and evaluated as
benchmarks/trl_peer.py does (veRL's merger; `justrl-eval` takes base + adapter as it is). Printed
for each: seconds a step by phase (veRL's timing_s metrics, the step without its checkpoint save),
peak memory (the PSS of the run's processes, Ray's workers included), held-out accuracy; the last
line is `LoRA/full: step time X.XXx, peak memory Y.YYx`.

    python benchmarks/lora_vs_full.py [--steps 3] [--model DIR] [--seed 0] [--work DIR] [--eval-limit K]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpu_pipeline  # noqa: E402
import trl_peer  # noqa: E402  (our run, its merge, the held-out evaluation and the table)
from justrl.config import ConfigError  # noqa: E402

SETTINGS = Path(__file__).with_name("lora_vs_full.yaml")
RATIO_LABEL = "LoRA/full"  # the last line: the LoRA run's step time and peak memory over the full run's


def compare(args) -> int:
    settings = yaml.safe_load(SETTINGS.read_text())
    model = trl_peer.starting_model(args.model)
    work = args.work.resolve()
    data = work / "data"
    print(f"lora_vs_full: {args.steps} steps each from {model}, in {work}", flush=True)
    cpu_pipeline.run(["justrl-prep", "sums", "--out", str(data / "sums"), "--seed", str(args.seed)],
                     work / "logs" / "prep.log", settings["timeout_s"], work, settings["memory_interval_s"])
    results = {"full": trl_peer.run_ours(model, data, work, args.steps, args.seed, settings, name="full"),
               "LoRA": trl_peer.run_ours(model, data, work, args.steps, args.seed, settings, name="lora",
                                         extra=settings["lora"])}
    for name, result in results.items():
        result["accuracy"] = trl_peer.held_out_accuracy(result["model"], name, data, work, args.seed, args.eval_limit,
                                                        settings)
    print(trl_peer.table(results, label="training"), end="")
    (work / "lora_vs_full.json").write_text(json.dumps({"lora": settings["lora"], "results": results}, indent=2) + "\n")
    print(trl_peer.ratio_line(results["LoRA"], results["full"], RATIO_LABEL))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = trl_peer.parse_args(argv, doc=__doc__, work=Path("runs/lora_vs_full"))
    try:
        return compare(args)
    except (trl_peer.PeerError, ConfigError, cpu_pipeline.StageFailed) as exc:
        print(f"lora_vs_full: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
