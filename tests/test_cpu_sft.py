"""The JustTinker hand-off on the CPU backend, each stage with the real tool: `justrl-sft` runs veRL's
SFT trainer (torchrun, two gloo ranks, FSDP2, the recipe's padding-free and gradient-checkpointing
settings), a rerun resumes it, veRL's model merger turns its checkpoint into a Hugging Face
directory, and the RL recipe trains a step from that directory."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cpu_runs import cpu_env, merge_actor, read_metrics, run_command, train, weights
from justrl.config import compose_recipe

pytestmark = pytest.mark.timeout(1800)


def sft(data_root: Path, work: Path, name: str, *overrides: str):
    metrics = work / f"{name}.jsonl"
    cmd = ["justrl-sft", "recipe=tiny_cpu_sft", f"trainer.default_local_dir={work / 'ckpt'}", *overrides]
    run = run_command(cmd, work, cpu_env(data_root, VERL_FILE_LOGGER_PATH=str(metrics)))
    run.steps = read_metrics(metrics)
    assert run.returncode == 0, run.describe()
    return run


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cpu_sft")


@pytest.fixture(scope="module")
def sft_runs(tiny_data_root, work):
    first = sft(tiny_data_root, work, "first")
    resumed = sft(tiny_data_root, work, "resumed", "trainer.total_training_steps=5", "trainer.save_freq=5")
    return first, resumed


def test_justrl_sft_trains_checkpoints_and_resumes(sft_runs, work):
    first, resumed = sft_runs
    assert [s for s in sorted(first.steps) if "train/loss" in first.steps[s]] == [1, 2, 3]
    assert first.steps[3]["train/loss"] < first.steps[1]["train/loss"]
    assert "val/loss" in first.steps[3]
    step3 = work / "ckpt" / "global_step_3"
    assert all((step3 / f"model_world_size_2_rank_{r}.pt").is_file() for r in (0, 1))
    assert (step3 / "huggingface" / "config.json").is_file()
    # the rerun starts from global_step_3, not from scratch
    assert [s for s in sorted(resumed.steps) if "train/loss" in resumed.steps[s]] == [4, 5]
    assert (work / "ckpt" / "latest_checkpointed_iteration.txt").read_text().strip() == "5"


def test_merged_sft_checkpoint_trains_with_the_rl_recipe(sft_runs, work, tiny_data_root):
    merged = merge_actor(work / "ckpt" / "global_step_5", work / "hf")
    initial = weights(tiny_data_root / "tiny" / "model")
    tuned = weights(merged)
    assert tuned.keys() == initial.keys()
    assert max((tuned[k] - initial[k]).abs().max().item() for k in initial) > 1e-4

    cfg = compose_recipe("justtinker_qwen3_4b_rl", [f"actor_rollout_ref.model.path={merged}"])
    assert cfg.actor_rollout_ref.model.path == str(merged)
    run = train(
        tiny_data_root, work / "rl", "rl", f"actor_rollout_ref.model.path={merged}",
        "trainer.total_training_steps=1", "trainer.val_before_train=false", "trainer.save_freq=-1", "trainer.test_freq=-1",
    )
    assert run.returncode == 0, run.describe()
    assert sorted(run.steps) == [1] and "actor/grad_norm" in run.steps[1]
    assert torch.isfinite(torch.tensor(run.steps[1]["actor/pg_loss"]))
