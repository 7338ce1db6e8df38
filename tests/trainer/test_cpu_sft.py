"""The JustTinker hand-off on the CPU backend, each stage with the real tool: `justrl-sft` runs veRL's
SFT trainer (torchrun, two gloo ranks, FSDP2, the recipe's padding-free and gradient-checkpointing
settings) and a rerun resumes it. The merge and the RL stage on its output are in
test_cpu_pipeline.py, which runs the whole hand-off."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpu_runs import sft

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


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
