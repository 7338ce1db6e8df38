"""The SFT -> RL hand-off: veRL's model merger turns a sharded FSDP checkpoint (two CPU ranks,
DTensor shards as veRL's FSDP2 engine saves them) into a Hugging Face directory, and the RL recipe
takes that directory with the single override actor_rollout_ref.model.path=<merged dir>."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from justrl.config import compose_recipe
from justrl.preflight import Report, model_positions

WORLD = 2


def _save_shard(rank: int, model_dir: str, out: str, port: int) -> None:
    """One rank of a 2-process FSDP2 job on CPU saving its sharded state dict like veRL does."""
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from transformers import AutoModelForCausalLM

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        mesh = init_device_mesh("cpu", (WORLD,), mesh_dim_names=("fsdp",))
        for layer in model.model.layers:
            fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        torch.save(model.state_dict(), Path(out) / f"model_world_size_{WORLD}_rank_{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def sft_checkpoint(tmp_path_factory, tiny_model_dir):
    """global_step_N/ as veRL's SFT trainer leaves it: shards, fsdp_config.json, huggingface/."""
    from transformers import AutoConfig, AutoTokenizer

    step = tmp_path_factory.mktemp("ckpt") / "global_step_4"
    step.mkdir()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.start_processes(_save_shard, args=(str(tiny_model_dir), str(step), port), nprocs=WORLD, start_method="spawn")
    (step / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": WORLD}))
    AutoConfig.from_pretrained(tiny_model_dir).save_pretrained(step / "huggingface")
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(step / "huggingface")
    return step


def test_merger_cli_rebuilds_the_model_and_rl_takes_it(sft_checkpoint, tiny_model_dir, tmp_path):
    from torch.distributed.tensor import DTensor
    from transformers import AutoModelForCausalLM

    shard = torch.load(sft_checkpoint / f"model_world_size_{WORLD}_rank_0.pt", weights_only=False)
    assert any(isinstance(v, DTensor) for v in shard.values())  # really sharded, not a full copy
    target = tmp_path / "hf"
    cmd = [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
           "--local_dir", str(sft_checkpoint), "--target_dir", str(target)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    merged = AutoModelForCausalLM.from_pretrained(target, dtype=torch.float32).state_dict()
    original = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).state_dict()
    assert merged.keys() == original.keys()
    # The merger writes bfloat16 (veRL's training dtype): every weight equals the original rounded to
    # bf16, so shards were put back in place, not merely concatenated.
    assert all(torch.equal(merged[k], original[k].to(torch.bfloat16).float()) for k in original)
    cfg = compose_recipe("justtinker_qwen3_4b_rl", [f"actor_rollout_ref.model.path={target}"])
    assert cfg.actor_rollout_ref.model.path == str(target)
    report = Report()
    assert model_positions(str(target), report) == 32768 and not report.notes
