"""The Slurm scripts without a Slurm: lint, the override and run-name rules of the bootstrap, the
cluster-completeness rules of wait_for_ray.py, the smoke trainer's checkpoints as veRL reads them, and
save_on_term.py keeping TERM from a process tree."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slurm_support.cluster import install_system_deps

REPO = Path(__file__).resolve().parents[2]
SLURM = REPO / "slurm"
SCRIPTS = sorted(SLURM.glob("*.sbatch")) + [SLURM / "ray_on_slurm.sh", SLURM / "env.sh", REPO / ".ci" / "system_deps.sh"]


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, SLURM / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def bootstrap(snippet: str, *args: str) -> str:
    """Runs `snippet` in bash with the bootstrap's functions loaded and the train script's settings."""
    code = (
        "set -euo pipefail; JUSTRL_JOB_KIND=train JUSTRL_ALLOCATION_OVERRIDES=1 JUSTRL_RESUME_OVERRIDES=1; "
        f"JUSTRL_RUN_DIR=/runs/r; source {SLURM / 'ray_on_slurm.sh'}; {snippet}"
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # the python with justrl
    return subprocess.run(["bash", "-c", code, "bash", *args], capture_output=True, text=True, check=True, env=env).stdout


def test_scripts_are_shellcheck_clean():
    if shutil.which("shellcheck") is None:
        install_system_deps(REPO)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck cannot be installed here; run .ci/system_deps.sh")
    result = subprocess.run(["shellcheck", "-x", *map(str, SCRIPTS)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["recipe=justrl_deepseek_1p5b", "trainer.experiment_name='my run [v2]'"], "my_run__v2_"),
        (["trainer.experiment_name=a", "++trainer.experiment_name=\"b/c\""], "b_c"),
        (["recipe=justtinker_qwen3_4b_rl", "data.max_response_length=8192"], "justtinker_qwen3_4b_rl"),
        (["data.train_batch_size=32"], "train"),
        (["model=/ckpt/global_step_800/merged/", "n=4"], "merged"),
        (["model=deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"], "DeepSeek-R1-Distill-Qwen-1.5B"),
    ],
)
def test_run_name_comes_from_the_experiment_then_the_recipe(args, name):
    assert bootstrap('run_name "$@"', *args) == name


def test_allocation_and_resume_overrides_fill_only_the_keys_the_user_left_out():
    print_overrides = 'build_overrides 4 8 "$@"; printf "%s\\n" "${OVERRIDES[@]}"'
    assert bootstrap(print_overrides, "recipe=x", "++trainer.nnodes=2").splitlines() == [
        "recipe=x",
        "++trainer.nnodes=2",
        "trainer.n_gpus_per_node=8",
        "trainer.resume_mode=auto",
        "trainer.default_local_dir=/runs/r/checkpoints",
    ]
    user = ["recipe=x", "trainer.n_gpus_per_node=4", "trainer.resume_mode=disable", "+trainer.default_local_dir=/ck"]
    assert bootstrap(print_overrides, *user).splitlines() == user + ["trainer.nnodes=4"]
    assert bootstrap('build_overrides 1 0 "$@"; printf "%s\\n" "${OVERRIDES[@]}"', "recipe=x").splitlines()[1] == "trainer.nnodes=1"


def test_per_node_command_gives_each_node_one_task_with_its_cpus_and_gpus():
    settings = "JUSTRL_CPUS_PER_NODE=64; "
    assert bootstrap(settings + "per_node_command 4 8 justrl-sft") == (
        "srun --overlap --nodes=4 --ntasks=4 --ntasks-per-node=1 --cpus-per-task=64 --gres=gpu:8 "
        "--kill-on-bad-exit=1 --label justrl-sft"
    )
    assert bootstrap(settings + "per_node_command 1 0 'python /a\\ b/smoke_node.py'") == (
        "srun --overlap --nodes=1 --ntasks=1 --ntasks-per-node=1 --cpus-per-task=64 --kill-on-bad-exit=1 --label "
        "python /a\\ b/smoke_node.py"
    )


def test_eval_job_grades_with_wandb_only_when_a_project_is_set_and_wandb_is_on(tmp_path, monkeypatch):
    eval_job = load("eval_job")
    out = tmp_path / "eval"
    assert eval_job.grade_args(out, {}) == [str(out)]
    assert eval_job.grade_args(out, {"WANDB_PROJECT": "p"}) == [str(out), "--wandb-project", "p"]
    assert eval_job.grade_args(out, {"WANDB_PROJECT": "p", "WANDB_MODE": "disabled"}) == [str(out)]
    request = tmp_path / "SAVE_AND_EXIT"
    monkeypatch.delenv("JUSTRL_SAVE_REQUEST_FILE", raising=False)
    assert not eval_job.save_requested()
    monkeypatch.setenv("JUSTRL_SAVE_REQUEST_FILE", str(request))
    assert not eval_job.save_requested()
    request.touch()
    assert eval_job.save_requested()


def test_an_incomplete_cluster_is_described_node_by_node():
    wait = load("wait_for_ray")
    joined = wait.joined_nodes(
        [
            {"Alive": True, "Resources": {"CPU": 64.0, "GPU": 8.0, "slurm_node:gpu01": 1.0}},
            {"Alive": True, "Resources": {"CPU": 64.0, "GPU": 4.0, "slurm_node:gpu02": 1.0}},
            {"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0, "slurm_node:gpu03": 1.0}},
            {"Alive": True, "Resources": {"CPU": 2.0}},  # a Ray node not started by the bootstrap
        ]
    )
    assert sorted(joined) == ["gpu01", "gpu02"]
    assert wait.shortfalls(["gpu01", "gpu02", "gpu03"], joined, cpus=64, gpus=8) == [
        "gpu02 (has 4 GPU, expected 8)",
        "gpu03 (not joined)",
    ]
    assert wait.shortfalls(["gpu01"], joined, cpus=96, gpus=8) == ["gpu01 (has 64 CPU, expected 96)"]
    assert wait.shortfalls(["gpu01"], joined, cpus=64, gpus=8) == []


def test_wait_for_ray_gives_up_naming_the_head_when_nothing_listens():
    result = subprocess.run(
        [sys.executable, str(SLURM / "wait_for_ray.py"), "--address", "127.0.0.1:1", "--nodes", "n1,n2", "--timeout", "1"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "ERROR: Ray head n1 did not answer at 127.0.0.1:1 within 1s; missing node(s): n1, n2; see the Ray head log"
    ]


def test_smoke_checkpoints_are_what_verl_resumes_from(tmp_path):
    from verl.utils.checkpoint.checkpoint_manager import find_latest_ckpt_path

    smoke = load("smoke_job")
    assert find_latest_ckpt_path(str(tmp_path)) is None and smoke.latest_step(tmp_path) == 0
    smoke.save_checkpoint(tmp_path, 3)
    smoke.save_checkpoint(tmp_path, 7)
    assert find_latest_ckpt_path(str(tmp_path)) == str(tmp_path / "global_step_7")
    assert smoke.latest_step(tmp_path) == 7


def test_the_bootstrap_and_the_smoke_jobs_read_overrides_with_justrl_overrides():
    """One parser of key=value overrides: justrl.overrides, which the bootstrap calls (python -m) and
    the smoke jobs and justrl.config import."""
    from justrl.overrides import override_value, override_values

    args = ["trainer.default_local_dir=/a", "+trainer.default_local_dir='/b c'", "~trainer.x=1", "--cfg", "a=b=c", "trainer.resume_mode="]
    assert override_values(args) == {"trainer.default_local_dir": "/b c", "trainer.x": "1", "a": "b=c", "trainer.resume_mode": ""}
    keys = "trainer.default_local_dir a trainer.resume_mode"
    snippet = f'read_overrides "$@"; for k in {keys}; do printf "%s|" "$(override_value $k)"; done; has_override trainer.nnodes || echo unset'
    assert bootstrap(snippet, *args) == "/b c|b=c||unset\n"
    assert load("smoke_job").override_value is override_value


def test_save_on_term_keeps_term_from_the_command_and_its_children_and_asks_for_a_save(tmp_path):
    """What Slurm does on preemption: TERM to every process at once. Only save_on_term.py may see it."""
    request, ready = tmp_path / "SAVE_AND_EXIT", tmp_path / "ready"
    # the command starts a grandchild that, like a Ray worker, installs a TERM handler that exits
    child = (
        "import signal, subprocess, sys, time, pathlib; "
        "g = subprocess.Popen([sys.executable, '-c', 'import signal, sys, time; "
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(9)); time.sleep(60)']); "
        f"pathlib.Path({str(ready)!r}).write_text(str(g.pid)); g.wait(); time.sleep(60)"
    )
    shield = subprocess.Popen(
        [sys.executable, str(SLURM / "save_on_term.py"), sys.executable, "-c", child],
        env={"PATH": "/usr/bin:/bin", "JUSTRL_SAVE_REQUEST_FILE": str(request)}, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() or not ready.read_text():
            assert time.monotonic() < deadline and shield.poll() is None
            time.sleep(0.1)
        grandchild = int(ready.read_text())
        command = int(subprocess.run(["pgrep", "-P", str(shield.pid)], capture_output=True, text=True).stdout.split()[0])
        for pid in (shield.pid, command, grandchild):
            os.kill(pid, signal.SIGTERM)
        time.sleep(1)
        assert shield.poll() is None and request.exists()
        for pid in (command, grandchild):
            os.kill(pid, 0)  # still alive: TERM stays blocked across fork and exec
        os.kill(shield.pid, signal.SIGUSR2)  # the job script's real stop
        assert shield.wait(timeout=10) == 128 + signal.SIGKILL
        assert f"TERM: kept from {sys.executable} (pid {command}); asked the trainer to checkpoint" in shield.stderr.read()
    finally:
        shield.kill()
        subprocess.run(["pkill", "-KILL", "-f", "signal.SIGTERM, lambda"], check=False)
