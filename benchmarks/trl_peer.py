"""TRL's GRPOTrainer and our trainer on the same SmolLM2 workload, in one run, for --steps N each:

    ours   justrl-train recipe=smollm2_justtinker (veRL, the CPU backend), merged with verl.model_merger
    TRL    trl 1.16.0 GRPOTrainer (benchmarks/trl_grpo.py) in its own environment, .venv-trl at the
           repository root, built on first use (trl_peer.yaml says what goes in; TRL is never a
           dependency of this project)

Both start from the same model folder (--model, default the base SmolLM2 of `justrl-prep smollm2`)
and read the same three-term sums (`justrl-prep sums`). TRL's batch (prompts x samples, micro-batch
of the update), lengths, learning rate, optimizer (AdamW, weight decay, betas, gradient clipping),
clip range (0.2 / 0.28), KL (none), loss averaging, advantage scaling, sampling and reward (the very
same `reward_fns` code and reward settings) are read from our composed recipe, so the two cannot
drift apart. What TRL cannot mirror is printed: JustTinker's estimator (positive advantages only)
when the recipe uses it, and gradient checkpointing (trl_peer.yaml). Then both final models are
evaluated the same way (`justrl-eval` + `justrl-grade` on the held-out SumThree, the settings of
cpu_pipeline.yaml's smollm2 entry).

Printed for each: seconds a step by phase (ours: veRL's timing_s metrics, the step without its
checkpoint save; TRL: its generate, no-grad log-prob and training-step methods timed by
benchmarks/trl_grpo.py), peak memory (the PSS of the run's processes, Ray's workers included; cpu_pipeline.PeakMemory),
held-out accuracy; the last line is `justrl/TRL: step time X.XXx, peak memory Y.YYx`.

    python benchmarks/trl_peer.py [--steps 3] [--model DIR] [--seed 0] [--work DIR] [--eval-limit K]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpu_pipeline  # noqa: E402  (the pipeline's process-group runner and memory sampler)
from justrl.config import ConfigError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = Path(__file__).with_name("trl_peer.yaml")
TRL_ENV = ROOT / ".venv-trl"
TRL_READY = TRL_ENV / ".justrl-trl-ready"  # written last: an interrupted build is redone
TRL_WORKER = Path(__file__).with_name("trl_grpo.py")
PHASES = ("generation", "log-probs", "update", "step")


class PeerError(RuntimeError):
    """A one-line reason the comparison cannot run."""


def ensure_trl_env(spec: dict[str, Any]) -> Path:
    """TRL's interpreter, building .venv-trl first if it is not complete."""
    python = TRL_ENV / "bin" / "python"
    if TRL_READY.is_file():
        return python
    print(f"trl_peer: building TRL's environment in {TRL_ENV} (once; a few minutes)", flush=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    constraints = ["-c", str(ROOT / "constraints.txt")]
    steps = [[sys.executable, "-m", "venv", str(TRL_ENV)],
             pip + spec["torch"],
             pip + spec["packages"] + constraints,
             pip + ["--no-deps", *spec["no_deps"]] + constraints]
    for cmd in steps:
        if subprocess.run(cmd, cwd=ROOT).returncode != 0:
            raise PeerError(f"building {TRL_ENV} failed at: {' '.join(cmd)}")
    TRL_READY.write_text("built by benchmarks/trl_peer.py\n")
    return python


def our_overrides(model: Path, data: Path, run_dir: Path, steps: int, seed: int) -> list[str]:
    return [f"justrl.data_dir={data}", f"actor_rollout_ref.model.path={model}", f"trainer.default_local_dir={run_dir}",
            f"actor_rollout_ref.rollout.seed={seed}", f"data.seed={seed}", f"trainer.total_training_steps={steps}",
            f"trainer.save_freq={steps}", "trainer.test_freq=-1"]


def trl_settings(recipe: str, overrides: list[str], settings: dict[str, Any], model: Path, out: Path,
                 seed: int, steps: int) -> tuple[dict[str, Any], list[str]]:
    """TRL's run, every shared setting read from our composed recipe; and what TRL cannot mirror."""
    from omegaconf import OmegaConf

    from justrl.config import compose_recipe

    cfg = compose_recipe(recipe, overrides)
    actor, rollout = cfg.actor_rollout_ref.actor, cfg.actor_rollout_ref.rollout
    loss_types = settings["trl"]["loss_types"]
    if actor.loss_agg_mode not in loss_types:
        raise PeerError(f"loss_agg_mode={actor.loss_agg_mode} has no TRL loss_type; expected one of "
                        f"{sorted(loss_types)} (trl_peer.yaml trl.loss_types)")
    gaps = []
    if cfg.algorithm.adv_estimator != "grpo":
        gaps.append(f"our advantage estimator is {cfg.algorithm.adv_estimator}; TRL's is GRPO's")
    if bool(cfg.actor_rollout_ref.model.enable_gradient_checkpointing) != settings["trl"]["gradient_checkpointing"]:
        gaps.append(f"gradient checkpointing: ours {cfg.actor_rollout_ref.model.enable_gradient_checkpointing}, "
                    f"TRL {settings['trl']['gradient_checkpointing']} (trl_peer.yaml)")
    ours_dtype = actor.fsdp_config.mixed_precision.param_dtype
    if ours_dtype != settings["trl"]["compute_dtype"]:
        gaps.append(f"compute dtype: ours {ours_dtype} over fp32 weights, TRL {settings['trl']['compute_dtype']} (trl_peer.yaml)")
    if actor.use_kl_loss or cfg.algorithm.use_kl_in_reward:
        raise PeerError("our recipe uses a KL term; expected none (TRL runs with beta 0 here)")
    if int(actor.ppo_mini_batch_size) != int(cfg.data.train_batch_size):
        raise PeerError(f"ppo_mini_batch_size={actor.ppo_mini_batch_size} < train_batch_size={cfg.data.train_batch_size}: "
                        "several updates a batch; expected one (the only schedule mirrored)")
    optim = actor.optim
    if optim.lr_scheduler_type != "constant" or optim.lr_warmup_steps not in (0, -1, None):
        raise PeerError(f"lr schedule {optim.lr_scheduler_type} with {optim.lr_warmup_steps} warmup steps; "
                        "expected constant with none (the only one mirrored)")
    reward = OmegaConf.to_container(cfg.reward.custom_reward_function.reward_kwargs, resolve=True)
    run = {
        "model": str(model), "out": str(out), "seed": seed, "steps": steps, "threads": settings["threads"],
        "train_file": str(cfg.data.train_files), "prompt_key": cfg.data.prompt_key,
        "prompts_per_step": int(cfg.data.train_batch_size), "samples_per_prompt": int(rollout.n),
        "micro_batch": int(actor.ppo_micro_batch_size_per_gpu), "updates_per_batch": int(actor.ppo_epochs),
        "max_response_length": int(cfg.data.max_response_length),
        "temperature": float(rollout.temperature), "top_p": float(rollout.top_p),
        "lr": float(optim.lr), "weight_decay": float(optim.weight_decay), "betas": list(optim.betas),
        "max_grad_norm": float(actor.grad_clip), "clip_low": float(actor.clip_ratio_low),
        "clip_high": float(actor.clip_ratio_high), "loss_type": loss_types[actor.loss_agg_mode],
        "scale_rewards": "group" if cfg.algorithm.norm_adv_by_std_in_grpo else "none",
        "gradient_checkpointing": settings["trl"]["gradient_checkpointing"], "reward_kwargs": reward,
    }
    return run, gaps


def run_ours(model: Path, data: Path, work: Path, steps: int, seed: int, settings: dict[str, Any],
             name: str = "ours", extra: list[str] | None = None) -> dict[str, Any]:
    """`justrl-train` of the recipe (plus `extra` overrides) under work/NAME, merged to work/NAME/hf."""
    run_dir = work / name / "run"
    cmd = ["justrl-train", f"recipe={settings['recipe']}", *our_overrides(model, data, run_dir, steps, seed), *(extra or [])]
    peak = cpu_pipeline.run(cmd, work / "logs" / f"{name}_train.log", settings["timeout_s"], work,
                            settings["memory_interval_s"])
    last = cpu_pipeline.last_step(run_dir)
    cpu_pipeline.run([sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp", "--local_dir",
                      str(run_dir / f"global_step_{last}" / "actor"), "--target_dir", str(work / name / "hf")],
                     work / "logs" / f"{name}_merge.log", settings["timeout_s"], work, settings["memory_interval_s"])
    return {"steps": last, "peak_bytes": peak, "seconds": our_step_seconds(run_dir / "metrics.jsonl"),
            "model": str(work / name / "hf")}


def our_step_seconds(metrics: Path) -> dict[str, float]:
    """Mean seconds a step by phase from veRL's timing_s metrics; the step without the checkpoint
    save and validation that veRL times inside it (TRL saves after its last step)."""
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    rows = [r.get("data", r) for r in rows if "timing_s/step" in r.get("data", r)]
    keys = {"generation": ["timing_s/gen"], "log-probs": ["timing_s/old_log_prob", "timing_s/ref"],
            "update": ["timing_s/update_actor"]}
    means = {name: sum(sum(r.get(k, 0.0) for k in ks) for r in rows) / len(rows) for name, ks in keys.items()}
    means["step"] = sum(r["timing_s/step"] - r.get("timing_s/save_checkpoint", 0.0) - r.get("timing_s/testing", 0.0)
                        for r in rows) / len(rows)
    return means


def run_trl(python: Path, run: dict[str, Any], work: Path, settings: dict[str, Any]) -> dict[str, Any]:
    spec = work / "trl" / "settings.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps(run, indent=2) + "\n")
    env_cmd = ["env", f"PYTHONPATH={ROOT}", f"OMP_NUM_THREADS={run['threads']}", "HF_HUB_OFFLINE=1",
               "TOKENIZERS_PARALLELISM=false", str(python), str(TRL_WORKER), str(spec)]
    peak = cpu_pipeline.run(env_cmd, work / "logs" / "trl_train.log", settings["timeout_s"], work,
                            settings["memory_interval_s"])
    result = json.loads((Path(run["out"]) / "timings.json").read_text())
    return {"steps": result["steps"], "peak_bytes": peak, "seconds": result["seconds"], "model": result["model"]}


def held_out_accuracy(model: str, name: str, data: Path, work: Path, seed: int, limit: int | None,
                      settings: dict[str, Any]) -> float:
    """avg@k on the held-out benchmark, evaluated as cpu_pipeline evaluates the smollm2 models."""
    spec = yaml.safe_load(cpu_pipeline.SETTINGS.read_text())["models"]["smollm2"]
    out, bench = work / "eval" / name, spec["benchmark"]
    limit_args = [] if limit is None else [f"limit={limit}"]
    common = (work / "logs", settings["timeout_s"], work, settings["memory_interval_s"])
    cpu_pipeline.run(["justrl-eval", f"model={model}", f"data_dir={data / 'sums'}", f"out={out}", f"benchmarks=[{bench}]",
                      f"n={spec['samples']}", f"sampling.seed={seed}", *spec["eval_overrides"], *limit_args],
                     common[0] / f"eval_{name}.log", *common[1:])
    cpu_pipeline.run(["justrl-grade", str(out), "--workers", str(settings["grade_workers"]), "--no-progress",
                      "--label", name], common[0] / f"grade_{name}.log", *common[1:])
    return json.loads((out / "results.json").read_text())["benchmarks"][bench]["avg"]


def ratio_line(ours: dict[str, Any], trl: dict[str, Any], label: str = "justrl/TRL") -> str:
    """The comparison's last line: the first run's step time and peak memory over the second's
    (ours over TRL's here; benchmarks/lora_vs_full.py: LoRA over full fine-tuning)."""
    step = ours["seconds"]["step"] / trl["seconds"]["step"]
    memory = ours["peak_bytes"] / trl["peak_bytes"]
    return f"{label}: step time {step:.2f}x, peak memory {memory:.2f}x"


def table(results: dict[str, dict[str, Any]], label: str = "trainer") -> str:
    from justrl.eval.tables import markdown

    return markdown([label, "steps", *(f"{p} s" for p in PHASES), "peak memory", "held-out avg"],
                    [[name, r["steps"], *(f"{r['seconds'].get(p, 0.0):.1f}" for p in PHASES),
                      f"{r['peak_bytes'] / 2**30:.2f} GiB", f"{r['accuracy']:.1%}"] for name, r in results.items()])


def parse_args(argv: list[str] | None, doc: str = __doc__, work: Path = Path("runs/trl_peer")) -> argparse.Namespace:
    """The comparison's options (this script's, and benchmarks/lora_vs_full.py's with its own doc)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=doc.split("\n\n", 1)[1])
    parser.add_argument("--steps", type=int, default=3, help="training steps of each run (default 3)")
    parser.add_argument("--model", type=Path, help="the starting model folder, e.g. an SFT model merged to Hugging "
                        "Face format (default: the base SmolLM2 of `justrl-prep smollm2`)")
    parser.add_argument("--seed", type=int, default=0, help="data split and sampling seed (default 0)")
    parser.add_argument("--work", type=Path, default=work, help=f"where everything goes (default {work})")
    parser.add_argument("--eval-limit", type=int, help="evaluate only the first K held-out problems (default all)")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps {args.steps}: expected a positive number of steps")
    if args.eval_limit is not None and args.eval_limit < 1:
        parser.error(f"--eval-limit {args.eval_limit}: expected a positive number of problems")
    return args


def starting_model(given: Path | None) -> Path:
    from data_prep.smollm2 import is_prepared, smollm2_dir

    if given is None:
        folder = smollm2_dir()
        if not is_prepared(folder):
            raise PeerError(f"no prepared SmolLM2 in {folder}; run: justrl-prep smollm2")
        return folder
    if not (given / "config.json").is_file():
        raise PeerError(f"--model {given}: expected a Hugging Face model folder (with config.json); "
                        "for the base model run `justrl-prep smollm2` and leave --model out")
    return given.resolve()


def compare(args: argparse.Namespace) -> int:
    settings = yaml.safe_load(SETTINGS.read_text())
    model = starting_model(args.model)
    work = args.work.resolve()
    data = work / "data"
    python = ensure_trl_env(settings["trl_env"])
    print(f"trl_peer: {args.steps} steps each from {model}, in {work}", flush=True)
    cpu_pipeline.run(["justrl-prep", "sums", "--out", str(data / "sums"), "--seed", str(args.seed)],
                     work / "logs" / "prep.log", settings["timeout_s"], work, settings["memory_interval_s"])
    run, gaps = trl_settings(settings["recipe"], our_overrides(model, data, work / "ours" / "run", args.steps, args.seed),
                             settings, model, work / "trl", args.seed, args.steps)
    for gap in gaps:
        print(f"trl_peer: not mirrored: {gap}", flush=True)
    results = {"justrl": run_ours(model, data, work, args.steps, args.seed, settings),
               "TRL": run_trl(python, run, work, settings)}
    for name, result in results.items():
        result["accuracy"] = held_out_accuracy(result["model"], name, data, work, args.seed, args.eval_limit, settings)
    print(table(results), end="")
    (work / "trl_peer.json").write_text(json.dumps({"settings": run, "not_mirrored": gaps, "results": results},
                                                   indent=2) + "\n")
    print(ratio_line(results["justrl"], results["TRL"]))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return compare(args)
    except (PeerError, ConfigError, cpu_pipeline.StageFailed) as exc:
        print(f"trl_peer: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
