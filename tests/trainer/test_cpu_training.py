"""veRL's real GRPO trainer, end to end on the CPU backend, through `justrl-train recipe=tiny_cpu`.

One chain of runs in one checkpoint folder, each a fresh process with its own Ray cluster, and
several assertions reading each run:
1. `first`: validation, two training steps, checkpoint at step 2;
2. `requested`: resumes from step 2, trains step 3, honours a Slurm save request (checkpoint, exit);
3. `finished`: resumes from step 3, trains step 4 and validates.
The resumed runs skip the validation before training, so every validation on record is the first run's.
The health monitor stopping a live run is in tests/trainer/test_justtinker_training.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cpu_runs import Run, merge_actor, train, weights

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

# Shared by every run of the chain: a warmup that the resumed runs must continue, not restart.
CHAIN = ["trainer.save_freq=2", "trainer.test_freq=2", "actor_rollout_ref.actor.optim.lr_warmup_steps=2"]
RESUMED = ["trainer.total_training_steps=4", "trainer.val_before_train=false", *CHAIN]
LR = 1e-3  # tiny_cpu's learning rate


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cpu_rl")


@pytest.fixture(scope="module")
def first(tiny_data_root, work) -> Run:
    run = train(tiny_data_root, work, "first", "trainer.total_training_steps=2", *CHAIN)
    assert run.returncode == 0, run.describe()
    return run


@pytest.fixture(scope="module")
def requested(first, tiny_data_root, work) -> Run:
    request = work / "save.request"
    request.touch()
    run = train(tiny_data_root, work, "requested", *RESUMED, JUSTRL_SAVE_REQUEST_FILE=str(request))
    assert run.returncode == 0, run.describe()
    return run


@pytest.fixture(scope="module")
def finished(requested, tiny_data_root, work) -> Run:
    run = train(tiny_data_root, work, "finished", *RESUMED)
    assert run.returncode == 0, run.describe()
    return run


def trained(run: Run) -> list[int]:
    """The steps that trained (validation also logs at the step it runs after)."""
    return sorted(run.metric("actor/pg_loss"))


def _latest(work: Path) -> str:
    return (work / "ckpt" / "latest_checkpointed_iteration.txt").read_text().strip()


def test_first_run_validates_trains_two_steps_and_checkpoints(first, work):
    assert sorted(first.steps) == [0, 1, 2] and trained(first) == [1, 2]
    step = work / "ckpt" / "global_step_2"
    for rank in (0, 1):
        for part in ("model", "optim", "extra_state"):
            assert (step / "actor" / f"{part}_world_size_2_rank_{rank}.pt").is_file()
    assert (step / "data.pt").is_file() and (step / "justrl_health.json").is_file()
    assert _latest(work) == "2"


def test_the_update_is_real_and_the_rollout_gets_the_newweights(first, work, tiny_data_root):
    """GRPO had signal, the policy moved, and after the weight sync the rollout server sampled with
    exactly the weights the actor then scored (fp32 on both sides: agreement to rounding)."""
    grad_norm = first.metric("actor/grad_norm")
    assert set(grad_norm) == {1, 2} and max(grad_norm.values()) > 0
    diff = first.metric("training/rollout_probs_diff_max")
    assert set(diff) == {1, 2} and diff[2] < 1e-4, diff
    assert first.metric("training/rollout_actor_probs_pearson_corr")[2] > 0.9999

    merged = merge_actor(work / "ckpt" / "global_step_2" / "actor", work / "merged_step_2")
    trained = weights(merged)
    initial = weights(tiny_data_root / "tiny" / "model")
    assert trained.keys() == initial.keys()
    moved = max((trained[k] - initial[k]).abs().max().item() for k in initial)
    assert moved > 1e-5


def test_live_validation_and_step_metrics_carry_the_justrl_keys(first):
    for step in (0, 2):  # val_before_train and test_freq=2
        data = first.steps[step]
        assert 0 <= data["justrl/val/tiny_add/accuracy"] <= 1 and data["justrl/val/accuracy"] == data["justrl/val/tiny_add/accuracy"]
        assert data["justrl/val/tiny_add/boxed_rate"] > 0.5  # the warm-started model answers in a box
    for step in (1, 2):
        data = first.steps[step]
        for key in ("justrl/accuracy", "justrl/reward/mean", "justrl/boxed_rate", "justrl/response_length/mean", "justrl/health/unhealthy_streak"):
            assert key in data, key
        # JustRL's +1 / -1: the reward mean is exactly what the accuracy implies
        assert data["justrl/reward/mean"] == pytest.approx(2 * data["justrl/accuracy"] - 1)


def test_resume_restores_model_optimizer_schedule_data_and_health(first, requested, finished, work):
    assert trained(requested) == [3] and trained(finished) == [4]
    lr = {**first.metric("actor/lr"), **requested.metric("actor/lr"), **finished.metric("actor/lr")}
    # warmup of 2 steps: a restarted scheduler would be back at its first value on step 3
    assert lr[1] < lr[2] == lr[3] == lr[4] == pytest.approx(LR)
    assert "global_step_2" in requested.output and "global_step_3" in finished.output
    # the health monitor's validation history (the first run's two validations) came back with
    # each checkpoint: the best of it is what the resumed steps judge against
    validations = [[step, first.steps[step]["justrl/val/accuracy"]] for step in (0, 2)]
    history = json.loads((work / "ckpt" / "global_step_3" / "justrl_health.json").read_text())["val_history"]
    assert history == validations
    best = max(value for _, value in validations)
    assert requested.steps[3]["justrl/health/best_val"] == best
    # step 4 validates too (test_freq=2): its score joins the restored history, and may be the new best
    step_4 = finished.steps[4]["justrl/val/accuracy"]
    history = json.loads((work / "ckpt" / "global_step_4" / "justrl_health.json").read_text())["val_history"]
    assert history == [*validations, [4, step_4]]
    assert finished.steps[4]["justrl/health/best_val"] == max(best, step_4)


def test_save_request_is_honoured_in_a_live_run_then_resumed(requested, finished, work):
    assert "[justrl] step 3: checkpoint saved on request" in requested.output
    assert not (work / "save.request").exists()  # consumed once honoured
    assert (work / "ckpt" / "global_step_3" / "actor" / "model_world_size_2_rank_0.pt").is_file()
    assert (work / "ckpt" / "global_step_4" / "data.pt").is_file() and _latest(work) == "4"
