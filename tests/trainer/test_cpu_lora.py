"""LoRA end to end on the CPU backend, JustTinker's way, each stage the real command:
`justrl-sft ... model.lora_rank=8 justrl.lora.train_unembed=true` (veRL's SFT trainer, base frozen,
the head adapted too), veRL's model merger (base + lora_adapter/), `justrl-train` starting from that
adapter (veRL's lora_adapter_path), a rerun that resumes it, then `python -m justrl.lora.merge` and
`justrl-eval` on the merged folder and on base + adapter.

The RL stage trains at lr 1e-5, a hundred times below the SFT's, so "it continued the SFT adapter"
and "it resumed its own" read plainly off the weights (fp32, from the checkpoints' shards: veRL's
merger writes bf16): each step moves an entry by about the learning rate (Adam), while the SFT
moved it by about 1e-3 a step.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from cpu_runs import Run, merge_actor, train, weights
from cpu_runs import sft

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

LORA = ["actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.model.lora_alpha=16"]
RL = ["actor_rollout_ref.actor.optim.lr=1e-5", "trainer.save_freq=1", "trainer.test_freq=-1", "trainer.val_before_train=false"]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cpu_lora")


@pytest.fixture(scope="module")
def sft_model(tiny_data_root, work) -> Path:
    """The SFT run merged by veRL's merger: the frozen base beside lora_adapter/."""
    (work / "sft").mkdir()
    sft(tiny_data_root, work / "sft", "sft", "model.lora_rank=8", "model.lora_alpha=16", "justrl.lora.train_unembed=true")
    return merge_actor(work / "sft" / "ckpt" / "global_step_3", work / "sft_hf")


def adapter(folder: Path) -> dict[str, torch.Tensor]:
    """The adapter veRL's merger wrote (bf16, as the rest of its output)."""
    return load_file(folder / "lora_adapter" / "adapter_model.safetensors")


def trained_adapter(checkpoint: Path) -> dict[str, torch.Tensor]:
    """The adapter as the two FSDP2 ranks held it (fp32): their shards of dim 0, joined."""
    shards = [torch.load(checkpoint / f"model_world_size_2_rank_{r}.pt", map_location="cpu", weights_only=False) for r in (0, 1)]
    return {name: torch.cat([shard[name]._local_tensor for shard in shards]) for name in shards[0] if "lora_" in name}


def largest_change(after: dict[str, torch.Tensor], before: dict[str, torch.Tensor]) -> float:
    assert after.keys() == before.keys()
    return max((after[k] - before[k]).abs().max().item() for k in after)


@pytest.fixture(scope="module")
def first(sft_model, tiny_data_root, work) -> Run:
    handover = [f"actor_rollout_ref.model.path={sft_model}", f"actor_rollout_ref.model.lora_adapter_path={sft_model / 'lora_adapter'}"]
    run = train(tiny_data_root, work / "rl", "first", *LORA, *handover, *RL, "trainer.total_training_steps=1")
    assert run.returncode == 0, run.describe()
    resumed = train(tiny_data_root, work / "rl", "resumed", *LORA, *handover, *RL, "trainer.total_training_steps=2")
    assert resumed.returncode == 0, resumed.describe()
    return run, resumed


@pytest.fixture(scope="module")
def rl_models(first, work) -> dict[int, Path]:
    """The RL checkpoints of steps 1 and 2 through veRL's merger: base + lora_adapter/."""
    return {step: merge_actor(work / "rl" / "ckpt" / f"global_step_{step}" / "actor", work / f"rl_step_{step}") for step in (1, 2)}


def test_sft_trains_an_adapter_on_every_linear_layer_and_the_head_with_the_base_frozen(sft_model, tiny_data_root, work):
    import json

    config = json.loads((sft_model / "lora_adapter" / "adapter_config.json").read_text())
    assert sorted(config["target_modules"]) == ["down_proj", "gate_proj", "k_proj", "lm_head", "o_proj", "q_proj", "up_proj", "v_proj"]
    assert (config["r"], config["lora_alpha"]) == (8, 16)
    assert {name.replace(".default", "") for name in trained_adapter(work / "sft" / "ckpt" / "global_step_3")} == set(adapter(sft_model))
    lora_b = [t for name, t in adapter(sft_model).items() if "lora_B" in name]
    assert lora_b and all(t.abs().max() > 1e-4 for t in lora_b)  # trained from zero
    base, original = weights(sft_model), weights(tiny_data_root / "tiny" / "model")
    # Frozen: the base is the original, as veRL's merger writes it (bf16).
    assert base.keys() == original.keys() and all(torch.equal(base[k], original[k].bfloat16().float()) for k in original)


def test_rl_continues_the_sft_adapter_and_the_rollout_generates_with_it(first, rl_models, sft_model, work):
    run, _ = first
    assert sorted(run.metric("actor/pg_loss")) == [1]
    # Base + SFT adapter on both sides from the first step: a rollout without the adapter would differ.
    diff = run.metric("training/rollout_probs_diff_max")
    assert set(diff) == {1} and diff[1] < 1e-4, diff
    # The RL run loaded the adapter veRL's merger wrote (bf16): one step of lr 1e-5 from it, not a fresh one.
    loaded = {name.replace(".weight", ".default.weight"): t.float() for name, t in adapter(sft_model).items()}
    moved = largest_change(trained_adapter(work / "rl" / "ckpt" / "global_step_1" / "actor"), loaded)
    assert 0 < moved < 5e-5, moved
    assert adapter(rl_models[1]).keys() == adapter(sft_model).keys()


def test_a_rerun_resumes_the_adapter_and_the_merged_model_evaluates(first, rl_models, work, tiny_data_root):
    _, resumed = first
    assert sorted(resumed.metric("actor/pg_loss")) == [2]
    assert max(resumed.metric("training/rollout_probs_diff_max").values()) < 1e-4
    checkpoints = work / "rl" / "ckpt"
    moved = largest_change(trained_adapter(checkpoints / "global_step_2" / "actor"), trained_adapter(checkpoints / "global_step_1" / "actor"))
    assert 0 < moved < 5e-5, moved  # one more small step from step 1's adapter
    step2_dir = rl_models[2]

    merged = work / "rl_merged"
    done = subprocess.run([sys.executable, "-m", "justrl.lora.merge", str(step2_dir), "--out", str(merged)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for model, out in ((merged, "eval_merged"), (step2_dir, "eval_adapter")):
        cmd = ["justrl-eval", f"model={model}", f"data_dir={tiny_data_root / 'tiny'}", f"out={work / out}", "benchmarks=[TinyAdd]",
               "n=1", "limit=4", "engine.kind=transformers", "sampling.max_new_tokens=16", "sampling.temperature=0", "progress=false"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    # Greedy answers of the merged folder and of base + adapter (merged by justrl-eval itself) agree.
    assert (work / "eval_merged" / "TinyAdd.jsonl").read_text() == (work / "eval_adapter" / "TinyAdd.jsonl").read_text()
