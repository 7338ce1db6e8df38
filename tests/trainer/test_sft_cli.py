"""justrl-sft as a user runs it: printed config, preflight, stage refusals, and the torchrun it starts."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from justrl.config import LaunchError
from justrl.config import compose_recipe
from justrl.sft.launch import check_gpus, torchrun_command
from parquet_rows import chat, write_sft_parquet

RECIPE = "justtinker_qwen3_4b_sft"


def run(cmd: list[str], cwd) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    env.pop("JUSTRL_DATA_DIR", None)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=240, env=env)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sft_work")
    rows = [chat(f"What is {i} + 1?", f"<think>\n{i} and one more.\n</think>\n\nThe answer is \\boxed{{{i + 1}}}.") for i in range(80)]
    write_sft_parquet(root / "data/openr1_sft/train.parquet", rows[:64])
    write_sft_parquet(root / "data/openr1_sft/val.parquet", rows[64:])
    return root


def test_cfg_job_prints_composed_config_without_gpu(workdir):
    out = run(["justrl-sft", f"recipe={RECIPE}", "--cfg", "job", "--resolve", "optim.lr=1e-5"], workdir)
    assert out.returncode == 0, out.stderr
    cfg = yaml.safe_load(out.stdout)
    assert cfg["optim"]["lr"] == 1e-5
    assert cfg["data"]["train_files"] == "data/openr1_sft/train.parquet"
    assert (cfg["data"]["max_length"], cfg["data"]["train_batch_size"], cfg["trainer"]["total_training_steps"]) == (8192, 16, 800)


def test_check_prints_plan_and_steps_problem(workdir, tiny_model_dir):
    # model.lora_rank=8: the recipe's 128 (JustTinker's) exceeds the tiny model's hidden size (64).
    out = run(["justrl-sft", f"recipe={RECIPE}", "--check", f"model.path={tiny_model_dir}", "model.lora_rank=8", "trainer.total_epochs=200"], workdir)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "  gradient accumulation (micro-batches)    2" in out.stdout
    assert "  steps an epoch                           4" in out.stdout
    assert out.stdout.rstrip().endswith("all checks passed")
    out = run(["justrl-sft", f"recipe={RECIPE}", "--check", f"model.path={tiny_model_dir}", "model.lora_rank=8"], workdir)
    assert out.returncode == 1
    assert ("error: trainer.total_epochs=2 ends the run after 8 steps (4 an epoch), before "
            "trainer.total_training_steps=800 and its final checkpoint; set trainer.total_epochs=200") in out.stdout


@pytest.mark.parametrize(
    "cmd,line",
    [
        (["justrl-sft", "recipe=smoke_1gpu"], "justrl-sft: error: recipe 'smoke_1gpu' is an RL recipe; run it with `justrl-train recipe=smoke_1gpu` (justrl-sft takes the SFT recipes: justtinker_qwen3_4b_sft, smollm2_justtinker_sft, tiny_cpu_sft, tiny_justtinker_sft)"),
        (["justrl-check", f"recipe={RECIPE}"], f"justrl-check: error: recipe '{RECIPE}' is an SFT recipe; check it with `justrl-sft recipe={RECIPE} --check`"),
        (["justrl-sft", "recipe=smoke_1gpu", "--check"], "justrl-sft: error: recipe 'smoke_1gpu' is an RL recipe; check it with `justrl-check recipe=smoke_1gpu`"),
        (["justrl-train", f"recipe={RECIPE}"], f"justrl-train: error: recipe '{RECIPE}' is an SFT recipe; run it with `justrl-sft recipe={RECIPE}`"),
        (["justrl-sft", f"recipe={RECIPE}", "optim.learning_rate=1"], "justrl-sft: error: unknown key 'optim.learning_rate'"),
        (["justrl-sft", f"recipe={RECIPE}"], f"justrl-sft: error: no GPU on this machine; SFT runs on GPU nodes (slurm/sft.sbatch). Here, `justrl-sft recipe={RECIPE} --check` validates"),
    ],
)
def test_errors_are_one_line(workdir, cmd, line):
    out = run(cmd, workdir)
    assert out.returncode in (1, 2)
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith(line), out.stderr


def test_gpu_count_must_match_the_node():
    cfg = compose_recipe(RECIPE, [])
    check_gpus(cfg, RECIPE, 8)
    with pytest.raises(LaunchError, match=r"^this node has 4 GPU\(s\) but trainer.n_gpus_per_node=8; pass trainer.n_gpus_per_node=4"):
        check_gpus(cfg, RECIPE, 4)


def test_torchrun_single_node_is_standalone(tmp_path):
    cfg = compose_recipe(RECIPE, [])
    cmd = torchrun_command(cfg, tmp_path / "c.yaml", {})
    assert cmd == [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=8", "--standalone",
                   "-m", "justrl.sft.worker", str(tmp_path / "c.yaml")]


def test_torchrun_multi_node_uses_slurm_rank_and_master(tmp_path):
    cfg = compose_recipe(RECIPE, ["cluster=a800_4x8"])
    env = {"MASTER_ADDR": "node01", "SLURM_NODEID": "3"}
    cmd = torchrun_command(cfg, tmp_path / "c.yaml", env)
    assert cmd[3:8] == ["--nproc_per_node=8", "--nnodes=4", "--node_rank=3", "--master_addr=node01", "--master_port=29500"]
    with pytest.raises(LaunchError, match=r"^trainer.nnodes=4 needs MASTER_ADDR"):
        torchrun_command(cfg, tmp_path / "c.yaml", {"SLURM_NODEID": "0"})
