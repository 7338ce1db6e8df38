"""veRL's DAPO reward manager, telling the reward function each response's length in tokens.

veRL 0.9.1's reward managers pass a custom reward function the decoded text only, and DAPO's
overlong punishment needs the token count; this subclass (loaded through veRL's
``reward.reward_manager.source=importlib``) adds ``response_length`` (the response's tokens, as
veRL's own DAPO manager counts them: its attention mask) and ``max_response_length``
(``data.max_response_length``, veRL's DAPO recipe's ``max_resp_len``) to ``extra_info``, then runs
DAPO's manager unchanged. The ``overlong`` reward term reads them.
"""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig, OmegaConf
from verl import DataProto
from verl.experimental.reward_loop.reward_manager.dapo import DAPORewardManager

from reward_fns.spec import parse
from reward_fns.term_registry import TERMS

MODULE = "pkg://justrl.reward_manager"


class JustRLRewardManager(DAPORewardManager):
    def __init__(self, config, tokenizer, compute_score, reward_router_address=None, reward_model_tokenizer=None):
        super().__init__(config, tokenizer, compute_score, reward_router_address, reward_model_tokenizer)
        self.max_response_length = OmegaConf.select(config, "data.max_response_length")

    async def run_single(self, data: DataProto) -> dict:
        data = data[-1:]  # veRL's managers score the last sequence of a multi-sequence output
        width = data.batch["responses"].shape[-1]
        extra = dict(data.non_tensor_batch.get("extra_info", [None])[0] or {})
        extra["response_length"] = int(data.batch["attention_mask"][0, -width:].sum())
        extra["max_response_length"] = self.max_response_length
        data.non_tensor_batch["extra_info"] = np.array([extra], dtype=object)
        return await super().run_single(data)


def token_count_problems(reward: DictConfig) -> list[str]:
    """A weighted term that reads token counts under a manager that does not pass them, one line each."""
    manager = reward.get("reward_manager") or {}
    ours = manager.get("source") == "importlib" and manager.get("name") == JustRLRewardManager.__name__
    ours = ours and OmegaConf.select(manager, "module.path") == MODULE
    spec, _ = parse(OmegaConf.select(reward, "custom_reward_function.reward_kwargs") or {})
    return [
        f"reward.custom_reward_function.reward_kwargs.terms.{term.name}.weight={term.weight}: the term needs each "
        f"response's length in tokens, which only justrl's reward manager passes; expected reward.reward_manager "
        f"source=importlib, name={JustRLRewardManager.__name__}, module.path={MODULE} (configs/reward/justrl.yaml)"
        for term in spec.terms
        if term.weight > 0 and TERMS[term.name].needs_tokens and not ours
    ]
