"""The commands as a user runs them: exit codes, one-line errors, never a traceback."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from parquet_rows import write_rl_parquet


def run(cmd: list[str], cwd, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", **(env_extra or {})}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=240, env=env)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A directory laid out as `justrl-prep` leaves it, with the default data/ path."""
    root = tmp_path_factory.mktemp("work")
    write_rl_parquet(root / "data" / "dapo_math_17k" / "train.parquet", 512, "math_dapo")
    for name in ("AIME24", "AIME25", "AMC23"):
        write_rl_parquet(root / "data" / "benchmarks" / f"{name}.parquet", 30, name)
    return root


def test_check_passes_and_prints_plan(workdir):
    out = run(["justrl-check", "recipe=justrl_deepseek_1p5b"], workdir)
    assert out.returncode == 0, out.stderr + out.stdout
    assert "responses a step" in out.stdout and "2048" in out.stdout
    assert "steps an epoch                           2" in out.stdout
    assert out.stdout.rstrip().endswith("all checks passed")


@pytest.mark.parametrize(
    "args,code,line",
    [
        (["recipe=justrl_deepsek_1p5b"], 2, "justrl-check: error: unknown recipe 'justrl_deepsek_1p5b' (did you mean justrl_deepseek_1p5b?)"),
        (["recipe=smoke_1gpu", "trainer.total_epoch=2"], 2, "justrl-check: error: unknown key 'trainer.total_epoch' (did you mean trainer.total_epochs?)"),
        (["recipe=smoke_1gpu", "actor_rollout_ref.rollout.n=eight"], 2, "justrl-check: error: actor_rollout_ref.rollout.n='eight' has the wrong type: expected an integer"),
        (["recipe=smoke_1gpu", "data.train_files=data/missing.parquet"], 1, "error: data.train_files: data/missing.parquet does not exist; create it with `justrl-prep dapo --out data/dapo_math_17k --keep-duplicates`"),
        ([], 2, "justrl-check: error: no recipe given; pass recipe=NAME"),
    ],
)
def test_check_errors_are_one_line(workdir, args, code, line):
    out = run(["justrl-check", *args], workdir)
    assert out.returncode == code
    assert "Traceback" not in out.stderr + out.stdout
    assert any(l.startswith(line) for l in (out.stderr + out.stdout).splitlines()), out.stderr + out.stdout


def test_check_fails_a_run_that_trains_zero_steps(workdir):
    write_rl_parquet(workdir / "data" / "small" / "train.parquet", 123, "math_dapo")
    out = run(["justrl-check", "recipe=justrl_deepseek_1p5b", "data.train_files=data/small/train.parquet"], workdir)
    assert out.returncode == 1, out.stdout + out.stderr
    assert ("error: data.train_files: 123 training rows are fewer than data.train_batch_size=256, so the run "
            "would train 0 steps (veRL drops the last partial batch); pass data.train_batch_size=123 or less") in out.stdout
    assert "all checks passed" not in out.stdout


def test_check_names_missing_benchmark_files(tmp_path):
    out = run(["justrl-check", "recipe=justrl_nemotron_1p5b"], tmp_path)
    assert out.returncode == 1
    assert "error: data.val_files: data/benchmarks/AIME25.parquet does not exist; create it with `justrl-prep benchmarks --out data/benchmarks`" in out.stdout


def test_train_prints_composed_config_without_gpu(workdir):
    out = run(["justrl-train", "recipe=justrl_deepseek_1p5b", "--cfg", "job", "--resolve", "actor_rollout_ref.actor.optim.lr=3e-6"], workdir)
    assert out.returncode == 0, out.stderr
    cfg = yaml.safe_load(out.stdout)
    assert cfg["actor_rollout_ref"]["actor"]["optim"]["lr"] == 3e-6
    assert cfg["data"]["train_files"] == "data/dapo_math_17k/train.parquet"
    assert cfg["trainer"]["v1"]["trainer_mode"] == "justrl"


def test_train_without_gpu_fails_fast_pointing_to_check(workdir):
    out = run(["justrl-train", "recipe=smoke_1gpu"], workdir)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        "justrl-train: error: no GPU on this machine; training runs on GPU nodes (slurm/train.sbatch). "
        "Here, `justrl-check recipe=smoke_1gpu` validates the config and prints the plan, and "
        "`justrl-train recipe=smoke_1gpu cluster=cpu` runs it on the CPU backend (small models only)"
    )


def test_train_rejects_bad_override_before_hydra(workdir):
    out = run(["justrl-train", "recipe=smoke_1gpu", "trainer.nnodes=two"], workdir)
    assert out.returncode == 2
    assert out.stderr.strip() == "justrl-train: error: trainer.nnodes='two' has the wrong type: expected an integer (the recipe's value is 1)"


@pytest.mark.slow  # starts Ray
def test_task_runner_registers_trainer_in_its_ray_process():
    """veRL's TaskRunnerV1 looks the trainer up by name inside the Ray actor; ours must be there."""
    import ray

    from justrl.task_runner import JustRLTaskRunner

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        runner = JustRLTaskRunner.remote()

        def lookup(self):
            from verl.trainer.ppo.v1 import get_trainer_cls

            cls = get_trainer_cls("justrl")
            return cls.__module__, cls.__name__, [c.__name__ for c in cls.__mro__][:3]

        assert ray.get(runner.__ray_call__.remote(lookup)) == (
            "justrl.trainer",
            "JustRLTrainer",
            ["JustRLTrainer", "PPOTrainerSync", "PPOTrainer"],
        )
    finally:
        ray.shutdown()


def test_early_stop_reason_is_printed_once_for_this_run(tmp_path, capsys):
    import json
    import os
    import time

    from justrl.cli.train import print_early_stop
    from justrl.health.trainer_hooks import STOP_RECORD

    line = "early stop at step 139: health rules fired on 3 consecutive steps"
    (tmp_path / STOP_RECORD).write_text(json.dumps({"line": line}))
    print_early_stop(str(tmp_path), since=time.time() - 60)
    assert capsys.readouterr().out.strip() == line
    old = time.time() - 3600
    os.utime(tmp_path / STOP_RECORD, (old, old))
    print_early_stop(str(tmp_path), since=time.time() - 60)
    assert capsys.readouterr().out == ""


def test_missing_vllm_is_named_before_ray_starts():
    from justrl.cli.train import missing_rollout_engine
    from justrl.config import compose_recipe

    cfg = compose_recipe("smoke_1gpu", [])
    assert missing_rollout_engine(cfg) == (
        "actor_rollout_ref.rollout.name=vllm but vllm is not installed in this environment; "
        'install the GPU extra: pip install -e ".[gpu]"'
    )
