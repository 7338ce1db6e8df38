"""benchmarks/trl_peer.py's argument handling and its last line (the comparison itself is a
benchmark, run by hand: it trains a real model twice)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "trl_peer.py"


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=ROOT)


def test_missing_model_cache_fails_in_one_line_naming_the_prep_command(tmp_path):
    done = run_script("--work", str(tmp_path / "work"), env={"JUSTRL_MODEL_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"trl_peer: no prepared SmolLM2 in {tmp_path / 'cache' / 'SmolLM2-135M-Instruct'}; run: justrl-prep smollm2"]
    assert not (tmp_path / "work").exists()


def test_bad_step_count_is_refused_before_anything_runs(tmp_path):
    done = run_script("--steps", "0", "--work", str(tmp_path / "work"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "trl_peer.py: error: --steps 0: expected a positive number of steps"
    assert not (tmp_path / "work").exists()


def test_last_line_is_our_step_time_and_peak_memory_over_trls():
    spec = importlib.util.spec_from_file_location("trl_peer", SCRIPT)
    trl_peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trl_peer)
    ours = {"seconds": {"step": 61.2}, "peak_bytes": 9 * 2**30}
    trl = {"seconds": {"step": 40.8}, "peak_bytes": 6 * 2**30}
    assert trl_peer.ratio_line(ours, trl) == "justrl/TRL: step time 1.50x, peak memory 1.50x"


def test_trls_run_is_read_from_our_recipe_and_the_differences_are_named(tmp_path):
    import yaml

    spec = importlib.util.spec_from_file_location("trl_peer", SCRIPT)
    trl_peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trl_peer)
    settings = yaml.safe_load((ROOT / "benchmarks" / "trl_peer.yaml").read_text())
    run, gaps = trl_peer.trl_settings("smollm2_justtinker", [], settings, tmp_path / "model", tmp_path / "out", 0, 3)
    assert (run["prompts_per_step"], run["samples_per_prompt"], run["max_response_length"], run["lr"]) == (8, 4, 96, 1e-5)
    assert (run["clip_low"], run["clip_high"], run["loss_type"], run["gradient_checkpointing"]) == (0.2, 0.28, "dapo", False)
    assert gaps == ["compute dtype: ours bf16 over fp32 weights, TRL fp32 (trl_peer.yaml)"]
