"""The monitor wired into a real JustRLTrainer (built from the smoke recipe on CPU, no workers):
validation metrics through veRL's own `_val_metrics_update`, early stop ending veRL's loop, the
reason as the last line. The per-step TransferQueue fetch runs against a real TQ in test_health_tq.py."""

from __future__ import annotations

import inspect

import pytest

from justrl.config import compose_recipe
from justrl.health.trainer_wiring import HealthCallback, build_health_callback
from justrl.health.trainer_hooks import read_stop_record

OVERRIDDEN = ["_compute_metrics", "_val_metrics_update", "_save_checkpoint", "_load_checkpoint", "on_train_begin", "on_train_end", "on_step_end"]


@pytest.fixture(scope="module")
def trainer(tmp_path_factory):
    from justrl.trainer import JustRLTrainer

    run_dir = tmp_path_factory.mktemp("ckpt")
    cfg = compose_recipe(
        "smoke_1gpu", ["health=justtinker", f"trainer.default_local_dir={run_dir}", "trainer.save_freq=5"]
    )
    return JustRLTrainer(cfg)


def test_overrides_match_verl_signatures(trainer):
    from verl.trainer.ppo.v1 import PPOTrainerSync

    for name in OVERRIDDEN:
        ours = list(inspect.signature(getattr(type(trainer), name)).parameters)
        theirs = list(inspect.signature(getattr(PPOTrainerSync, name)).parameters)
        assert ours[: len(ours) - ("kwargs" in ours)] == theirs[: len(ours) - ("kwargs" in ours)], name


def test_validation_then_early_stop_in_a_real_trainer(trainer, capsys):
    health = trainer.health_callback.health
    assert health.monitor.early_stop.enabled and health.max_response_length == 1024
    trainer.global_steps = 0
    infos = {
        "reward": [1.0, 0.0, 1.0, 1.0],
        "score": [1.0, 0.0, 1.0, 1.0],
        "acc": [True, False, True, True],
        "has_think": [True, True, False, True],
        "boxed": [True, False, True, True],
    }
    metrics = trainer._val_metrics_update(["AIME24", "AIME24", "MATH-500", "MATH-500"], ["a", "a", "b", "b"], infos, [1, 1, 1, 1])
    assert metrics["val-core/AIME24/acc/mean@2"] == 0.5  # veRL's own metric is still there
    assert metrics["justrl/val/AIME24/accuracy"] == 0.5 and metrics["justrl/val/MATH-500/accuracy"] == 1.0
    assert metrics["justrl/val/accuracy"] == 0.75

    trainer.on_train_begin()
    assert health.monitor.best_val == (0, 0.75)

    for step in (1, 2, 3, 4):
        trainer.global_steps = step
        stop = health.observe(step, {"justrl/thinking_rate": 0.8 if step <= 2 else 0.3})
    assert stop is None
    trainer.global_steps = 5
    trainer.total_training_steps = 1000
    stop = health.observe(5, {"justrl/thinking_rate": 0.3})
    assert stop is not None and stop.step == 5
    trainer.health_callback.stop_early(trainer, stop)  # step 5 is a save_freq step: veRL already saved it
    assert trainer.total_training_steps == 5  # veRL's `while global_steps <= total_training_steps` ends
    trainer.global_steps = 6  # veRL counts the step done before it checks the loop's condition
    trainer.on_train_end()
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "[justrl health] EARLY STOP at step 5: health rules fired on 3 consecutive steps (now: thinking_rate_low)"
    assert read_stop_record(trainer.config.trainer.default_local_dir)["step"] == 5


def test_with_the_monitor_off_the_trainer_holds_a_callback_that_does_nothing(tmp_path):
    cfg = compose_recipe("smoke_1gpu", ["justrl.health.enabled=false", f"trainer.default_local_dir={tmp_path}"])
    callback = build_health_callback(cfg)
    assert type(callback) is HealthCallback and callback.health is None
    metrics = {"val-core/AIME24/acc/mean@1": 1.0}
    callback.add_validation_metrics(None, ["AIME24"], {"acc": [True], "score": [1.0]}, metrics)
    assert metrics == {"val-core/AIME24/acc/mean@1": 1.0}
