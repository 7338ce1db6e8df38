"""benchmarks/lora_vs_full.py's settings, argument handling and last line (the comparison itself is
a benchmark, run by hand: it trains a real model twice)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import yaml

from justrl.config import compose_recipe

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "lora_vs_full.py"


def load_script():
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("lora_vs_full", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lora_run_is_the_recipe_with_justtinkers_adapter_and_loras_learning_rate(tmp_path):
    settings = yaml.safe_load((ROOT / "benchmarks" / "lora_vs_full.yaml").read_text())
    full = compose_recipe(settings["recipe"], [f"justrl.data_dir={tmp_path}"])
    lora = compose_recipe(settings["recipe"], [f"justrl.data_dir={tmp_path}", *settings["lora"]])
    assert full.actor_rollout_ref.model.lora_rank == 0
    model = lora.actor_rollout_ref.model
    assert (model.lora_rank, model.lora_alpha, model.target_modules, lora.justrl.lora.train_unembed) == (128, 32, "all-linear", True)
    # ten times the full run's learning rate; the rest of the recipe is the same
    assert lora.actor_rollout_ref.actor.optim.lr == 10 * full.actor_rollout_ref.actor.optim.lr
    assert lora.data == full.data and lora.actor_rollout_ref.rollout == full.actor_rollout_ref.rollout


def test_missing_model_cache_fails_in_one_line_naming_the_prep_command(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--work", str(tmp_path / "work")], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "JUSTRL_MODEL_CACHE": str(tmp_path / "cache")}, cwd=ROOT)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"lora_vs_full: no prepared SmolLM2 in {tmp_path / 'cache' / 'SmolLM2-135M-Instruct'}; run: justrl-prep smollm2"]
    assert not (tmp_path / "work").exists()


def test_last_line_is_the_lora_runs_step_time_and_peak_memory_over_the_full_runs():
    lora = {"seconds": {"step": 30.0}, "peak_bytes": 9 * 2**30}
    full = {"seconds": {"step": 40.0}, "peak_bytes": 12 * 2**30}
    script = load_script()
    assert script.trl_peer.ratio_line(lora, full, script.RATIO_LABEL) == "LoRA/full: step time 0.75x, peak memory 0.75x"
