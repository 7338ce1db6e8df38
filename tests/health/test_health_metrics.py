"""`justrl/` metrics from per-response reward diagnostics, and the trainer-side glue around them."""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from justrl.health.config import load_health_config
from justrl.health.metrics import ResponseRecord, records_from_rollouts, step_metrics, validation_metrics
from justrl.health.trainer_hooks import STATE_FILE, TRAIN_FIELDS, TrainingHealth, read_stop_record


def info(acc, think=True, boxed=True, redundancy=0.2, chunk=0.1, fmt=0.0, red_pen=0.0):
    """The reward adapter's dict for one response (keys from the reward contract)."""
    score = float(acc) - fmt - red_pen
    return {
        "score": score, "acc": acc, "pred": "42" if boxed else None, "has_think": think, "boxed": boxed,
        "redundancy": redundancy, "chunk_similarity": chunk, "format_penalty": fmt, "redundancy_penalty": red_pen,
    }


# Two prompts x 4 rollouts. Group "a": all wrong (no signal); group "b": mixed, one cut at the cap.
GROUP_A = [info(False, think=False, boxed=False, redundancy=0.9, chunk=0.8) for _ in range(4)]
GROUP_B = [info(True, fmt=0.1, think=False), info(True), info(True, red_pen=0.3), info(False, boxed=False)]
LENGTHS_A = [8192, 8192, 8192, 6000]
LENGTHS_B = [1000, 2000, 3000, 4000]


def batch_records():
    return [ResponseRecord("dapo", "a", n, i) for n, i in zip(LENGTHS_A, GROUP_A)] + [
        ResponseRecord("dapo", "b", n, i) for n, i in zip(LENGTHS_B, GROUP_B)
    ]


def test_step_metrics_exact_values():
    m = step_metrics(batch_records(), max_response_length=8192)
    assert m["justrl/accuracy"] == 3 / 8
    assert m["justrl/accuracy/dapo"] == 3 / 8
    assert m["justrl/thinking_rate"] == 3 / 8
    assert m["justrl/boxed_rate"] == 3 / 8
    assert m["justrl/response_length/mean"] == sum(LENGTHS_A + LENGTHS_B) / 8
    assert m["justrl/response_length/p50"] == 5000.0
    assert m["justrl/response_length/max"] == 8192.0
    assert m["justrl/response_length/clip_ratio"] == 3 / 8
    assert m["justrl/response_length/cap"] == 8192.0
    assert m["justrl/redundancy/mean"] == pytest.approx((4 * 0.9 + 4 * 0.2) / 8)
    assert m["justrl/redundancy/p95"] == pytest.approx(0.9)
    assert m["justrl/chunk_similarity/mean"] == pytest.approx((4 * 0.8 + 4 * 0.1) / 8)
    assert m["justrl/format_penalty/mean"] == pytest.approx(0.1 / 8)
    assert m["justrl/redundancy_penalty/mean"] == pytest.approx(0.3 / 8)
    assert m["justrl/reward/mean"] == pytest.approx((3 - 0.1 - 0.3) / 8)
    assert m["justrl/zero_signal_groups"] == 0.5
    assert all(k.startswith("justrl/") for k in m)


def test_accuracy_by_data_source():
    records = [ResponseRecord("aime", "x", 10, info(True)), ResponseRecord("math", "y", 10, info(False))]
    m = step_metrics(records, 100)
    assert (m["justrl/accuracy/aime"], m["justrl/accuracy/math"], m["justrl/accuracy"]) == (1.0, 0.0, 0.5)


def test_records_from_rollouts_reads_reward_extra_info():
    # The shape veRL's v1 agent loop stores per trajectory in TransferQueue.
    extra = [{"reward_extra_info": GROUP_B[0], "min_global_steps": 3}, {"max_global_steps": 3}, None]
    records = records_from_rollouts(extra, ["dapo"] * 3, ["u1", "u1", "u2"], [5, 6, 7])
    assert records[0] == ResponseRecord("dapo", "u1", 5, GROUP_B[0])
    assert records[1].info == {} and records[2].info == {} and records[2].group == "u2"
    m = step_metrics(records, 100)
    # Responses without diagnostics count for length but not for the rates they lack.
    assert m["justrl/response_length/mean"] == 6.0 and m["justrl/thinking_rate"] == 0.0
    assert "justrl/zero_signal_groups" not in m


def test_validation_metrics_per_benchmark_from_verl_infos():
    # veRL's reward_extra_infos_dict: "reward" first, adapter keys, None where a response lacked a key.
    rows = [("AIME24", info(True)), ("AIME24", info(False, think=False)), ("MATH-500", info(True))]
    infos = {"reward": [1.0, 0.0, 1.0]}
    for key in rows[0][1]:
        infos[key] = [r[1][key] for r in rows]
    infos["redundancy"][2] = None
    m = validation_metrics([r[0] for r in rows], infos)
    assert m["justrl/val/AIME24/accuracy"] == 0.5
    assert m["justrl/val/AIME24/thinking_rate"] == 0.5
    assert m["justrl/val/MATH-500/accuracy"] == 1.0
    assert "justrl/val/MATH-500/redundancy/mean" not in m
    assert m["justrl/val/accuracy"] == 0.75  # mean over benchmarks, not over responses
    assert m["justrl/val/thinking_rate"] == 0.75


def trainer_config(tmp_path, rules="justtinker"):
    return OmegaConf.create(
        {
            "justrl": {"health": load_health_config(rules)},
            "data": {"max_response_length": 8192},
            "trainer": {"default_local_dir": str(tmp_path / "ckpt")},
        }
    )


def test_training_health_from_tq_fields_and_tags(tmp_path):
    health = TrainingHealth.from_trainer_config(trainer_config(tmp_path))
    infos = GROUP_A + GROUP_B
    fields = {
        "extra_fields": [{"reward_extra_info": i} for i in infos] + [{}],
        "data_source": ["dapo"] * 9,
        "uid": ["a"] * 4 + ["b"] * 4 + ["pad"],
    }
    assert set(fields) == set(TRAIN_FIELDS)
    tags = [{"response_len": n, "status": "success"} for n in LENGTHS_A + LENGTHS_B]
    tags.append({"response_len": 1, "is_padding": True})
    assert health.train_metrics(fields, tags) == step_metrics(batch_records(), 8192)


def test_training_health_disabled_or_absent(tmp_path):
    cfg = trainer_config(tmp_path)
    cfg.justrl.health.enabled = False
    assert TrainingHealth.from_trainer_config(cfg) is None
    assert TrainingHealth.from_trainer_config(OmegaConf.create({"trainer": {}})) is None


def test_observe_warns_records_stop_and_keeps_state(tmp_path, capsys):
    health = TrainingHealth.from_trainer_config(trainer_config(tmp_path))
    health.clear_stop_record()
    for step in (1, 2):
        metrics = {"justrl/thinking_rate": 0.4}
        assert health.observe(step, metrics) is None
        assert metrics["justrl/health/unhealthy_streak"] == step
    assert read_stop_record(tmp_path / "ckpt") is None
    stop = health.observe(3, {"justrl/thinking_rate": 0.4, "justrl/val/accuracy": 0.8})
    assert stop.step == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[justrl health] WARNING step 1: thinking_rate_low: justrl/thinking_rate = 0.4 < threshold 0.6"
    assert lines[-1] == stop.line
    assert read_stop_record(tmp_path / "ckpt") == {"step": 3, "reason": stop.reason, "line": stop.line}

    folder = tmp_path / "ckpt" / "global_step_3"
    health.save_state(folder)
    assert json.loads((folder / STATE_FILE).read_text()) == {"val_history": [[3, 0.8]]}
    resumed = TrainingHealth.from_trainer_config(trainer_config(tmp_path))
    resumed.load_state(folder)
    resumed.clear_stop_record()
    assert resumed.monitor.best_val == (3, 0.8)
    assert read_stop_record(tmp_path / "ckpt") is None
