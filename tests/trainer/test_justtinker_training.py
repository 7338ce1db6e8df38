"""One live run of veRL's real trainer on the CPU backend (tests/cpu_runs.py) trained as JustTinker
trains: its reward (1/0 correctness, the 0.1 format term, the redundancy penalty), its advantage
(`algorithm.adv_estimator=justtinker` with the token-sum loss) and its health monitor.

The pure checks (tests/trainer/test_justtinker_advantage.py) show the estimator and the token-sum loss
equal JustTinker's update; this run shows the trainer takes them: the estimator is found in the
driver, the actor trains on the positive samples, and every other sample reaches the loss with
advantage 0. The tiny model never thinks, so JustTinker's thinking-rate rule fires on every step:
with patience 2 the monitor stops the run at step 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cpu_runs import Run, train

pytestmark = pytest.mark.slow

STEPS = 2  # the step the monitor stops at


@pytest.fixture(scope="module")
def justtinker_run(tiny_data_root, tmp_path_factory) -> tuple[Run, Path]:
    work = tmp_path_factory.mktemp("justtinker")
    run = train(
        tiny_data_root, work, "justtinker",
        "reward=justtinker", "health=justtinker", "justrl.health.early_stop.patience=2",
        "algorithm.adv_estimator=justtinker", "actor_rollout_ref.actor.loss_agg_mode=token-sum",
        "trainer.total_training_steps=4", "trainer.save_freq=4", "trainer.val_before_train=false", "trainer.test_freq=-1",
    )
    assert run.returncode == 0, run.describe()
    return run, work


def test_justtinker_estimator_trains_only_on_positive_advantages(justtinker_run):
    run, _ = justtinker_run
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


def test_health_monitor_stops_a_live_run_with_the_justtinker_reward(justtinker_run):
    run, work = justtinker_run
    assert sorted(run.steps) == list(range(1, STEPS + 1))
    assert run.stdout.strip().splitlines()[-1].startswith(f"[justrl health] EARLY STOP at step {STEPS}: ")
    assert (work / "ckpt" / f"global_step_{STEPS}" / "actor" / "model_world_size_2_rank_0.pt").is_file()
    for step in range(1, STEPS + 1):
        data = run.steps[step]
        assert data["justrl/thinking_rate"] == 0.0
        # JustTinker's 1/0 reward less its format term (0.1 off every right answer without thinking)
        # and its redundancy term
        assert data["justrl/format_penalty/mean"] == pytest.approx(0.1 * data["justrl/accuracy"])
        terms = data["justrl/accuracy"] - data["justrl/format_penalty/mean"] - data["justrl/redundancy_penalty/mean"]
        assert data["justrl/reward/mean"] == pytest.approx(terms)
