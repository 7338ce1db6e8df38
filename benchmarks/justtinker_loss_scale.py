"""How veRL's loss aggregations differ from Tinker's token sum on one real batch, and what Adam makes of it.

JustTinker's update (its trainer, Guanghan/JustTinker) is Tinker's `ppo` loss summed over the tokens
of the samples with advantage > 0, then one Adam step. This script builds one real batch -- prompts of
the tiny task, responses sampled from the model, JustTinker's reward (the project's `justtinker`
reward settings), advantages from `algorithm.adv_estimator=justtinker` through veRL's own
`compute_advantage` -- and compares, for each veRL `loss_agg_mode`, the gradient of veRL's `vanilla`
policy loss with the gradient of Tinker's sum written out directly: the norm ratio and the cosine;
then the first optimizer step each gives, under Tinker's Adam (beta2 0.95, eps 1e-12, no clipping)
and under the recipe's AdamW with `grad_clip`.

    python benchmarks/justtinker_loss_scale.py [--data-dir data] [--model PATH] [--prompts 8] [--n 8]

Needs `justrl-prep tiny --out DATA_DIR/tiny` (the task and, unless --model is given, the model).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

MODES = ["token-sum", "token-mean", "seq-mean-token-sum", "seq-mean-token-mean"]
CLIP = {"clip_ratio": 0.2, "clip_ratio_low": 0.2, "clip_ratio_high": 0.28, "clip_ratio_c": 10.0}


def sample_batch(model, tokenizer, prompts: list[str], n: int, max_new_tokens: int, seed: int):
    """n responses a prompt at temperature 1 (GRPO's rollout setting); padded ids and masks."""
    torch.manual_seed(seed)
    rows = []
    for prompt in prompts:
        ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
        batch = ids.repeat(n, 1)
        out = model.generate(batch, attention_mask=torch.ones_like(batch), do_sample=True, temperature=1.0, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
        for seq in out:
            response = seq[ids.shape[1]:]
            stop = (response == (tokenizer.pad_token_id or tokenizer.eos_token_id)).nonzero()
            length = int(stop[0]) + 1 if len(stop) else len(response)
            rows.append((ids[0], response[:length]))
    return rows


def token_log_probs(model, rows, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per response token log-probability under the model, (batch, max_len), and the response mask."""
    out = torch.zeros(len(rows), max_len)
    mask = torch.zeros(len(rows), max_len, dtype=torch.bool)
    for i, (prompt, response) in enumerate(rows):
        seq = torch.cat([prompt, response]).unsqueeze(0)
        logits = model(seq).logits[0, len(prompt) - 1 : -1].float()
        lp = torch.log_softmax(logits, dim=-1).gather(-1, response.unsqueeze(-1)).squeeze(-1)
        out = out.index_put((torch.tensor([i]), torch.arange(len(response))), lp)
        mask[i, : len(response)] = True
    return out, mask


def flat_grad(model) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]).double()


def adam_first_step(grad: torch.Tensor, lr: float, eps: float, clip: float | None) -> torch.Tensor:
    """The first Adam(W) update from zero moments: bias correction makes it lr * g / (|g| + eps)."""
    if clip is not None and grad.norm() > clip:
        grad = grad * (clip / grad.norm())
    return -lr * grad / (grad.abs() + eps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("JUSTRL_DATA_DIR", "data")))
    parser.add_argument("--model", type=Path, help="a Hugging Face folder (default DATA_DIR/tiny/model)")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM, AutoTokenizer
    from verl import DataProto
    from verl.trainer.ppo.core_algos import get_policy_loss_fn
    from verl.trainer.ppo.ray_trainer import compute_advantage

    from justrl.config import compose_recipe
    from justrl.justtinker_advantage import ESTIMATOR
    from reward_fns.adapter import compute_score

    model_dir = args.model or args.data_dir / "tiny" / "model"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    table = pd.read_parquet(args.data_dir / "tiny" / "train.parquet").head(args.prompts)
    prompts = [row[0]["content"] for row in table["prompt"]]
    truths = [rm["ground_truth"] for rm in table["reward_model"]]

    with torch.no_grad():
        rows = sample_batch(model, tokenizer, prompts, args.n, args.max_new_tokens, args.seed)
    reward_kwargs = OmegaConf.to_container(compose_recipe("tiny_justtinker", []).reward.custom_reward_function.reward_kwargs)
    texts = [tokenizer.decode(response, skip_special_tokens=True) for _, response in rows]
    rewards = [compute_score(table["data_source"].iloc[i // args.n], t, truths[i // args.n], **reward_kwargs)["score"] for i, t in enumerate(texts)]

    max_len = max(len(r) for _, r in rows)
    with torch.no_grad():
        old, mask = token_log_probs(model, rows, max_len)
    lengths = mask.sum(-1)
    token_rewards = torch.zeros(len(rows), max_len)
    token_rewards[torch.arange(len(rows)), lengths - 1] = torch.tensor(rewards, dtype=torch.float32)
    data = DataProto.from_dict(
        tensors={"token_level_rewards": token_rewards, "response_mask": mask.long()},
        non_tensors={"uid": np.repeat(np.arange(args.prompts), args.n).astype(object)},
    )
    advantages = compute_advantage(data, adv_estimator=ESTIMATOR, config=OmegaConf.create({})).batch["advantages"]
    trained = (advantages > 0).any(-1)
    print(f"batch: {args.prompts} prompts x {args.n} responses, {int(mask.sum())} response tokens, mean reward {np.mean(rewards):.3f}; "
          f"trained {int(trained.sum())} responses ({int(mask[trained].sum())} tokens)")
    if not trained.any():
        raise SystemExit("no response has a positive advantage in this batch; try another --seed or more --prompts")

    def gradient(loss_of_new) -> torch.Tensor:
        model.zero_grad()
        new, _ = token_log_probs(model, rows, max_len)
        loss_of_new(new).backward()
        return flat_grad(model).clone()

    def tinker_sum(new: torch.Tensor) -> torch.Tensor:
        tokens = mask & trained[:, None]
        ratio = torch.exp(new[tokens] - old[tokens])
        a = advantages[tokens]
        return -torch.minimum(ratio * a, torch.clamp(ratio, 0.8, 1.28) * a).sum()

    reference = gradient(tinker_sum)
    config = OmegaConf.create({**CLIP, "global_batch_info": {}})
    policy_loss = get_policy_loss_fn("vanilla")
    recipe = compose_recipe("justtinker_qwen3_4b_rl", []).actor_rollout_ref.actor
    lr, clip = recipe.optim.lr, recipe.grad_clip
    tinker_step = adam_first_step(reference, lr, eps=1e-12, clip=None)
    print(f"Tinker's token sum over the trained samples: gradient norm {reference.norm():.6g}")
    print(f"{'loss_agg_mode':<22}{'grad norm':>12}{'/ Tinker':>12}{'cosine':>10}{'Adam step / Tinker (no clip)':>30}{f'AdamW step, clip {clip:g}':>26}")
    for mode in MODES:
        grad = gradient(lambda new: policy_loss(old_log_prob=old, log_prob=new, advantages=advantages, response_mask=mask, loss_agg_mode=mode, config=config)[0])
        cosine = torch.nn.functional.cosine_similarity(grad, reference, dim=0)
        step = adam_first_step(grad, lr, eps=1e-12, clip=None)
        clipped = adam_first_step(grad, lr, eps=1e-8, clip=clip)
        print(f"{mode:<22}{grad.norm():>12.6g}{grad.norm() / reference.norm():>12.6g}{cosine:>10.6f}"
              f"{step.norm() / tinker_step.norm():>30.6f}{clipped.norm() / tinker_step.norm():>26.6f}")


if __name__ == "__main__":
    main()
