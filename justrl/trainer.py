"""JustRLTrainer: veRL's synchronous v1 PPO trainer, extended only through its hooks.

Registered with veRL's own trainer registry as `justrl` (the recipes set
`trainer.v1.trainer_mode=justrl`), so veRL's TaskRunner builds it without any fork of veRL code.
"""

from __future__ import annotations

from omegaconf import DictConfig, open_dict
from verl.trainer.ppo.v1 import PPOTrainerSync, register_trainer

TRAINER_NAME = "justrl"


@register_trainer(TRAINER_NAME)
class JustRLTrainer(PPOTrainerSync):
    """The JustRL training loop is veRL's synchronous loop; justrl adds monitoring on its hooks."""

    def __init__(self, config: DictConfig):
        # veRL selects its sampler and checkpoint behaviour by the literal mode name "sync";
        # this trainer is that mode, so it presents itself as such to the base class.
        with open_dict(config):
            config.trainer.v1.trainer_mode = "sync"
        super().__init__(config)
