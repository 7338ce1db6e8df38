"""`algorithm.adv_estimator=justtinker` against JustTinker's own update (tests/justtinker_update_reference.py).

The estimator is called through veRL's own dispatch (`compute_advantage`, the function its trainer
calls) on 480 generated groups; the loss through veRL's registered `vanilla` policy loss with
`loss_agg_mode=token-sum`, against Tinker's summed PPO loss over the samples JustTinker trains.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

import justtinker_update_reference as reference
from justrl.config import compose_recipe
from justrl.justtinker_advantage import ESTIMATOR, TIE_TOLERANCE, loss_agg_problem, trained_share

GROUPS = 480
MAX_LEN = 12


def generated_groups(seed: int = 0, n: int = GROUPS) -> list[list[float]]:
    """Binary, fractional (JustTinker's 1 / 0.9 / penalised values, exact-mean members) and all-equal groups."""
    rng = np.random.default_rng(seed)
    groups = []
    for g in range(n):
        size = int(rng.choice([8, 8, 8, 8, 4, 16, 6, 5]))
        kind = g % 3
        if kind == 0:
            rewards = rng.integers(0, 2, size).astype(float)
        elif kind == 1:
            penalty = rng.uniform(0.0, 0.3, size)
            values = np.stack([np.zeros(size), np.ones(size), np.full(size, 0.9), 1.0 - penalty, 0.9 - penalty, np.full(size, 0.5)])
            rewards = values[rng.integers(0, len(values), size), np.arange(size)]
        else:
            rewards = np.full(size, rng.choice([0.0, 1.0, 0.9, 0.7, rng.uniform(0.0, 1.0)]))
        # veRL holds rewards as float32: both sides see the same representable values.
        groups.append([float(np.float32(r)) for r in rewards])
    return groups


def verl_batch(groups: list[list[float]], seed: int = 0):
    """A DataProto as veRL's trainer hands it to compute_advantage: rows shuffled, uneven lengths."""
    from verl import DataProto

    rng = np.random.default_rng(seed)
    rows = [(g, r) for g, rewards in enumerate(groups) for r in rewards]
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    lengths = rng.integers(1, MAX_LEN + 1, len(rows))
    mask = torch.as_tensor(np.arange(MAX_LEN)[None, :] < lengths[:, None], dtype=torch.int64)
    rewards = torch.zeros(len(rows), MAX_LEN, dtype=torch.float32)
    rewards[torch.arange(len(rows)), torch.as_tensor(lengths - 1)] = torch.tensor([r for _, r in rows], dtype=torch.float32)
    data = DataProto.from_dict(
        tensors={"token_level_rewards": rewards, "response_mask": mask},
        non_tensors={"uid": np.array([f"prompt-{g}" for g, _ in rows], dtype=object)},
    )
    return data, [g for g, _ in rows], lengths


@pytest.fixture(scope="module")
def estimated():
    from verl.trainer.ppo.ray_trainer import compute_advantage

    groups = generated_groups()
    data, row_groups, lengths = verl_batch(groups)
    out = compute_advantage(data, adv_estimator=ESTIMATOR, num_repeat=8, config=OmegaConf.create({}))
    return groups, data, row_groups, lengths, out.batch["advantages"]


def test_estimator_matches_justtinkers_update_on_generated_groups(estimated):
    groups, data, row_groups, lengths, advantages = estimated
    rewards = data.batch["token_level_rewards"].sum(-1).tolist()
    by_group: dict[int, list[int]] = {}
    for row, g in enumerate(row_groups):
        by_group.setdefault(g, []).append(row)
    checked = ties = trained = 0
    for g, rows in by_group.items():
        assert sorted(rewards[row] for row in rows) == sorted(groups[g])
        ref_adv = reference.compute_advantages([rewards[row] for row in rows])
        ref_trained = reference.trained_advantages([rewards[row] for row in rows])
        for row, adv, kept in zip(rows, ref_adv, ref_trained):
            n = int(lengths[row])
            ours = advantages[row]
            assert torch.all(ours[n:] == 0), f"group {g}: advantage on padding"
            if kept is not None and adv > TIE_TOLERANCE:
                assert torch.allclose(ours[:n], torch.full((n,), adv, dtype=ours.dtype), atol=1e-6), (g, adv, ours[:n])
                trained += 1
            else:
                # Not trained by JustTinker, or "trained" with a float-rounding advantage that adds
                # nothing to its summed loss: no gradient here.
                assert torch.all(ours[:n] == 0), (g, adv, ours[:n])
                ties += kept is not None or abs(adv) < TIE_TOLERANCE
            checked += 1
    assert len(by_group) >= 400 and checked == sum(map(len, groups))
    assert trained > 0 and ties > 0
    assert trained_share(advantages)["justrl/adv/trained_responses"] == trained


def test_excluded_samples_add_nothing_to_the_token_sum_loss(estimated):
    """veRL's loss with token-sum equals Tinker's sum over the trained samples only, gradient included."""
    from verl.trainer.ppo.core_algos import get_policy_loss_fn

    _, data, _, _, advantages = estimated
    mask = data.batch["response_mask"].bool()
    gen = torch.Generator().manual_seed(1)
    old = -torch.rand(mask.shape, generator=gen) * 3
    new = (old + 0.3 * torch.randn(mask.shape, generator=gen)).requires_grad_()
    config = OmegaConf.create({"clip_ratio": 0.2, "clip_ratio_low": 0.2, "clip_ratio_high": 0.28, "clip_ratio_c": 10.0, "global_batch_info": {}})
    loss, _ = get_policy_loss_fn("vanilla")(old_log_prob=old, log_prob=new, advantages=advantages, response_mask=mask, loss_agg_mode="token-sum", config=config)
    (grad,) = torch.autograd.grad(loss, new)

    trained = (advantages > 0).any(-1)
    new_ref = new.detach().clone().requires_grad_()
    tokens = mask & trained[:, None]
    expected = reference.ppo_sum_loss(new_ref[tokens], old[tokens], advantages[tokens])
    (expected_grad,) = torch.autograd.grad(expected, new_ref)
    assert torch.allclose(loss, expected, rtol=1e-5)
    assert torch.allclose(grad, expected_grad, atol=1e-6)
    assert torch.all(grad[~trained] == 0) and grad[trained].abs().sum() > 0


def test_preflight_refuses_an_averaging_loss_with_the_estimator():
    cfg = compose_recipe("smoke_1gpu", [f"algorithm.adv_estimator={ESTIMATOR}", "actor_rollout_ref.actor.loss_agg_mode=token-mean"])
    problem = loss_agg_problem(cfg)
    assert problem.startswith(f"actor_rollout_ref.actor.loss_agg_mode=token-mean with algorithm.adv_estimator={ESTIMATOR}")
    assert problem.endswith("set actor_rollout_ref.actor.loss_agg_mode=token-sum") and "\n" not in problem
    ok = compose_recipe("smoke_1gpu", [f"algorithm.adv_estimator={ESTIMATOR}", "actor_rollout_ref.actor.loss_agg_mode=token-sum"])
    assert loss_agg_problem(ok) is None


def test_every_process_that_imports_verl_has_the_estimator(tmp_path):
    """The verl.plugins entry point registers it: a fresh interpreter imports only veRL."""
    probe = "import verl; from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY as r; print(r['justtinker'].__module__)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.stdout.strip().splitlines()[-1] == "justrl.justtinker_advantage", done.stderr[-2000:]
