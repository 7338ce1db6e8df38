"""benchmarks/cpu_pipeline.py without running the pipeline: its options, the SFT-only baseline's
settings and choice of checkpoint, and the lines comparing RL with its baselines."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "cpu_pipeline.py"


def load_pipeline():
    spec = importlib.util.spec_from_file_location("cpu_pipeline", SCRIPT)
    module = sys.modules["cpu_pipeline"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sft_only_is_refused_for_a_model_whose_validation_split_is_its_benchmark(tmp_path):
    """The tiny task's benchmark (TinyAdd) is its validation split: choosing steps on it would tune
    on the held-out figure, so the tiny model has no SFT-only settings."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--model", "tiny", "--sft-only", "--work", str(tmp_path / "w")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "cpu_pipeline.py: error: --sft-only: cpu_pipeline.yaml has no sft_only settings for --model tiny; "
        "models that have them: smollm2")
    assert not (tmp_path / "w").exists()


def test_sft_only_trains_as_many_passes_as_steps_and_scores_every_checkpoint_greedily():
    settings = yaml.safe_load((ROOT / "benchmarks" / "cpu_pipeline.yaml").read_text())
    spec = settings["models"]["smollm2"]["sft_only"]
    # the cold start is one pass of 20 steps (recipes/smollm2_justtinker_sft.yaml)
    assert spec["steps"] == 20 * spec["epochs"] and spec["steps"] % spec["save_every"] == 0
    assert spec["val_overrides"] == ["n=1", "sampling.temperature=0"]


def test_the_best_checkpoint_is_the_earliest_of_the_best_validation_scores():
    pipeline = load_pipeline()
    assert pipeline.best_step({20: 0.5, 40: 0.625, 60: 0.625, 80: 0.6}) == 40
    assert pipeline.best_step({20: 0.7}) == 20


def test_gains_over_each_baseline_per_seed_and_on_average():
    pipeline = load_pipeline()
    Row = pipeline.Row
    rows = [Row(seed, stage, 1.0, 1.0, acc, acc, None, 1.0, 60.0) for seed, stage, acc in [
        (0, "sft", 0.5), (0, "rl", 0.625), (0, "sft-only", 0.6), (1, "sft", 0.4), (1, "rl", 0.55)]]
    assert pipeline.gains(rows) == {0: 12.5, 1: pytest.approx(15.0)}
    assert pipeline.gain_line(pipeline.gains(rows), "SFT") == "held-out accuracy, RL minus SFT: seed 0 +12.5, seed 1 +15.0; mean +13.8 points"
    # seed 1 has no SFT-only stage: only seed 0 is compared
    assert pipeline.gain_line(pipeline.gains(rows, "sft-only"), "SFT-only") == "held-out accuracy, RL minus SFT-only: seed 0 +2.5; mean +2.5 points"
