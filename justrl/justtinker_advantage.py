"""JustTinker's update rule as a veRL advantage estimator, `algorithm.adv_estimator=justtinker`.

JustTinker's trainer (Guanghan/JustTinker, `scripts/tinker/justrl_math_reasoning.py`,
`ReasoningTrainer.compute_advantages` and `train_step`) centres each prompt's rewards on their mean,
divides by nothing, keeps only the samples whose advantage is > 0 and sends those to one Tinker
`forward_backward(loss_fn="ppo")`, whose loss is a sum over tokens. Here every response gets its
centred reward when that is positive and exactly 0 otherwise: a zero advantage gives a zero PPO loss
term and a zero gradient. With veRL's `loss_agg_mode=token-sum` (the only mode preflight accepts with
this estimator) the loss is Tinker's sum, so an excluded response has no denominator to dilute either.

veRL calls estimators in the driver (the v1 trainer's `_compute_advantage`); this module registers
at import and is a `verl.plugins` entry point, so every process that imports veRL has it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from verl.trainer.ppo.core_algos import register_adv_est

ESTIMATOR = "justtinker"
LOSS_AGG_MODE = "token-sum"

# veRL stores rewards as float32: a reward of order 1 carries a rounding error near 1e-7, so a
# group mean that equals a member's reward in exact arithmetic can miss it by ~1e-7 either way.
# Centred rewards within this band of 0 are ties (JustTinker's float64 sees them as such; its
# `> 0` then keeps at most a ~1e-16 advantage, a zero term of its summed loss).
TIE_TOLERANCE = 1e-6


def centred_rewards(scores: torch.Tensor, index: np.ndarray) -> torch.Tensor:
    """Each score minus the mean of its group (rows sharing a uid), in float64.

    The mean is taken of the offsets from the group's first score, so a group of equal rewards
    centres to exactly 0 whatever the values (a plain float mean of 0.9s need not equal 0.9).
    """
    _, first_row, group = np.unique(np.asarray(index), return_index=True, return_inverse=True)
    group = torch.as_tensor(group.reshape(-1), dtype=torch.long)
    values = scores.detach().to(torch.float64)
    offsets = values - values[torch.as_tensor(first_row, dtype=torch.long)][group]
    count = torch.bincount(group, minlength=len(first_row)).to(torch.float64)
    mean_offset = torch.zeros(len(first_row), dtype=torch.float64).index_add_(0, group, offsets) / count
    return offsets - mean_offset[group]


@register_adv_est(ESTIMATOR)
def compute_justtinker_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray,
    config: Any = None,
    **_: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantage = reward - group mean where that is > 0, else 0, on every response token."""
    centred = centred_rewards(token_level_rewards.sum(dim=-1), index)
    trained = centred > TIE_TOLERANCE
    advantage = torch.where(trained, centred, torch.zeros_like(centred)).to(token_level_rewards.dtype)
    advantages = advantage.unsqueeze(-1) * response_mask
    return advantages, advantages


def loss_agg_problem(cfg: DictConfig) -> str | None:
    """One line when the estimator is chosen with a loss that averages (excluded samples would dilute it)."""
    if OmegaConf.select(cfg, "algorithm.adv_estimator") != ESTIMATOR:
        return None
    mode = OmegaConf.select(cfg, "actor_rollout_ref.actor.loss_agg_mode")
    if mode == LOSS_AGG_MODE:
        return None
    return (
        f"actor_rollout_ref.actor.loss_agg_mode={mode} with algorithm.adv_estimator={ESTIMATOR}: JustTinker's loss "
        f"is a sum over the trained samples' tokens, and an averaging mode counts the excluded samples in its "
        f"denominator; set actor_rollout_ref.actor.loss_agg_mode={LOSS_AGG_MODE}"
    )


def trained_share(advantages: torch.Tensor) -> dict[str, float]:
    """`justrl/adv/` metrics of a step: how many responses carried a gradient (advantage > 0)."""
    trained = (advantages > 0).any(dim=-1)
    return {
        "justrl/adv/trained_share": float(trained.float().mean()) if len(trained) else 0.0,
        "justrl/adv/trained_responses": float(trained.sum()),
    }


def add_step_metrics(trainer: Any, batch: Any, metrics: dict) -> None:
    """After veRL's `_compute_advantage`: the step's trained share, read back from TransferQueue."""
    if OmegaConf.select(trainer.config, "algorithm.adv_estimator") != ESTIMATOR:
        return
    import transfer_queue as tq

    data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=["advantages"])
    advantages = data.to_padded_tensor()["advantages"]
    real = torch.tensor([not tag.get("is_padding", False) for tag in batch.tags], dtype=torch.bool)
    metrics.update(trained_share(advantages[real] if real.any() else advantages))
