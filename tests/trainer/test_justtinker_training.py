"""`algorithm.adv_estimator=justtinker` in veRL's real trainer on the CPU backend (tests/cpu_runs.py).

The pure checks (tests/trainer/test_justtinker_advantage.py) show the estimator and the token-sum loss equal
JustTinker's update; this run shows the trainer takes them: the estimator is found in the driver,
the actor trains on the positive samples, and every other sample reaches the loss with advantage 0.
"""

from __future__ import annotations

import pytest

from cpu_runs import train

pytestmark = pytest.mark.slow

STEPS = 2


def test_justtinker_estimator_trains_only_on_positive_advantages(tiny_data_root, tmp_path):
    run = train(
        tiny_data_root, tmp_path, "justtinker",
        "algorithm.adv_estimator=justtinker", "actor_rollout_ref.actor.loss_agg_mode=token-sum",
        f"trainer.total_training_steps={STEPS}", "trainer.val_before_train=false",
        "trainer.test_freq=-1", "trainer.save_freq=-1",
    )
    assert run.returncode == 0, run.describe()
    share = run.metric("justrl/adv/trained_share")
    assert sorted(share) == list(range(1, STEPS + 1)), run.describe()
    responses = 8 * 4  # tiny_cpu: 8 prompts x 4 rollouts
    for step in share:
        data = run.steps[step]
        trained = data["justrl/adv/trained_responses"]
        assert trained == round(share[step] * responses)
        # No negative advantage reaches the actor: the untrained responses carry exactly 0.
        assert data["critic/advantages/min"] == 0.0, data
        if trained:
            assert data["critic/advantages/max"] > 0 and data["actor/grad_norm"] > 0, data
    # The tiny model gets some groups right and some wrong: some steps train on part of the batch.
    assert any(0 < s < 1 for s in share.values()), share
