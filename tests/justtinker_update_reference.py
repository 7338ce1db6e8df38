"""JustTinker's RL update, restated from its trainer for the estimator agreement test.

Source: Guanghan/JustTinker, ``scripts/tinker/justrl_math_reasoning.py``, ``ReasoningTrainer``:
- ``compute_advantages(rewards)``: ``np.array(rewards) - np.mean(rewards)`` per prompt's group
  (no division by the standard deviation);
- ``train_step``: a sample goes into the Tinker batch only ``if sample["advantage"] > 0``; its datum
  carries ``[0.0] * ob_len + [advantage] * (len(input_tokens) - ob_len)`` as per-token advantages,
  i.e. the same advantage on every response token;
- one ``forward_backward(data, loss_fn="ppo", clip_low_threshold=0.8, clip_high_threshold=1.28)``,
  whose loss (Tinker's losses documentation) is summed over tokens:
  ``-sum(min(ratio * A, clip(ratio, 0.8, 1.28) * A))``.
"""

from __future__ import annotations

import numpy as np
import torch

CLIP_LOW_THRESHOLD = 0.8
CLIP_HIGH_THRESHOLD = 1.28


def compute_advantages(rewards: list[float]) -> list[float]:
    """``ReasoningTrainer.compute_advantages``: the group's rewards minus their mean."""
    rewards_arr = np.array(rewards)
    return (rewards_arr - np.mean(rewards_arr)).tolist()


def trained_advantages(rewards: list[float]) -> list[float | None]:
    """Per sample: its advantage when ``train_step`` sends it to Tinker (> 0), else None."""
    return [adv if adv > 0 else None for adv in compute_advantages(rewards)]


def ppo_sum_loss(log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantage: torch.Tensor) -> torch.Tensor:
    """Tinker's ``ppo`` loss over the trained samples' response tokens (1-D tensors, one entry a token)."""
    ratio = torch.exp(log_prob - old_log_prob)
    clipped = torch.clamp(ratio, CLIP_LOW_THRESHOLD, CLIP_HIGH_THRESHOLD)
    return -torch.minimum(ratio * advantage, clipped * advantage).sum()
