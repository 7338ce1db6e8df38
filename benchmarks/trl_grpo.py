"""TRL's side of benchmarks/trl_peer.py: trl's GRPOTrainer on the settings trl_peer.py wrote (every
value read from our recipe), run by .venv-trl's Python with the repository root on PYTHONPATH so
that the reward is `reward_fns.adapter.compute_score`, the same code and settings as our run's.

    .venv-trl/bin/python benchmarks/trl_grpo.py SETTINGS.json

Writes the final model to OUT/model and OUT/timings.json: the mean seconds a training step, from a
TrainerCallback's step begin to its step end, split into TRL's phases by timing its methods:
generation (`_generate`), log-probs (`_get_per_token_logps_and_entropies` called without
gradients: the old and reference policies, none when each batch is used once and beta is 0) and
update (the step less `_generate_and_score_completions`: the loss's forward and backward over the
micro-batches, clipping and the optimizer step). Rewards and advantages are in the step only.
TRL 1.16 has no prompt-length limit (our recipe's 96 tokens drop nothing here: every sums prompt is
63 tokens with the chat template).
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import GRPOConfig, GRPOTrainer

from reward_fns.adapter import compute_score


class PhaseClock:
    """Seconds spent in wrapped methods, by phase, since the last `reset()`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, phase: str, method: Callable, when: Callable[[], bool] = lambda: True) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not when():
                return method(*args, **kwargs)
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - started
        return timed

    def reset(self) -> dict[str, float]:
        seconds, self.seconds = dict(self.seconds), defaultdict(float)
        return seconds


class StepTimer(TrainerCallback):
    """Each optimizer step's wall time and its phases' shares."""

    def __init__(self, clock: PhaseClock):
        self.clock, self.steps, self._started = clock, [], 0.0

    def on_step_begin(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003  (TrainerCallback's signature)
        self.clock.reset()
        self._started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
        step = time.perf_counter() - self._started
        phases = self.clock.reset()
        self.steps.append({"generation": phases.get("generation", 0.0), "log-probs": phases.get("log-probs", 0.0),
                           "update": step - phases.get("scoring", 0.0), "step": step})


def reward_function(reward_kwargs: dict[str, Any], max_length: int) -> Callable[..., list[float]]:
    """TRL's reward callable over our adapter, with the arguments veRL's reward loop passes it."""

    def justrl_reward(prompts, completions, completion_ids, ground_truth, data_source, **_):  # noqa: ANN001, ANN003
        scores = []
        for completion, ids, truth, source in zip(completions, completion_ids, ground_truth, data_source):
            text = completion[0]["content"] if isinstance(completion, list) else completion
            extra = {"response_length": len(ids), "max_response_length": max_length}
            scores.append(float(compute_score(source, text, truth, extra_info=extra, **reward_kwargs)["score"]))
        return scores

    return justrl_reward


def dataset(path: str, prompt_key: str) -> Dataset:
    frame = pd.read_parquet(path)
    return Dataset.from_list([
        {"prompt": [dict(message) for message in prompt], "ground_truth": str(reward["ground_truth"]),
         "data_source": str(source)}
        for prompt, reward, source in zip(frame[prompt_key], frame["reward_model"], frame["data_source"])])


def main(settings_path: str) -> None:
    run = json.loads(Path(settings_path).read_text())
    torch.set_num_threads(run["threads"])
    out = Path(run["out"])
    samples = run["prompts_per_step"] * run["samples_per_prompt"]
    if samples % run["micro_batch"]:
        raise SystemExit(f"trl_grpo: {samples} samples a step do not split into micro-batches of {run['micro_batch']}")
    config = GRPOConfig(
        output_dir=str(out / "trainer"), seed=run["seed"], max_steps=run["steps"], use_cpu=True, bf16=False,
        per_device_train_batch_size=run["micro_batch"], gradient_accumulation_steps=samples // run["micro_batch"],
        num_generations=run["samples_per_prompt"], num_iterations=run["updates_per_batch"],
        max_completion_length=run["max_response_length"], temperature=run["temperature"], top_p=run["top_p"],
        learning_rate=run["lr"], lr_scheduler_type="constant", warmup_steps=0, optim="adamw_torch",
        weight_decay=run["weight_decay"], adam_beta1=run["betas"][0], adam_beta2=run["betas"][1],
        max_grad_norm=run["max_grad_norm"], beta=0.0, epsilon=run["clip_low"], epsilon_high=run["clip_high"],
        loss_type=run["loss_type"], scale_rewards=run["scale_rewards"],
        gradient_checkpointing=run["gradient_checkpointing"], save_strategy="no", report_to="none",
        logging_steps=1, dataloader_num_workers=0,
    )
    tokenizer = AutoTokenizer.from_pretrained(run["model"])
    model = AutoModelForCausalLM.from_pretrained(run["model"], dtype=torch.float32)
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, args=config,
                          reward_funcs=reward_function(run["reward_kwargs"], run["max_response_length"]),
                          train_dataset=dataset(run["train_file"], run["prompt_key"]))
    clock = PhaseClock()
    trainer._generate = clock.wrap("generation", trainer._generate)
    trainer._generate_and_score_completions = clock.wrap("scoring", trainer._generate_and_score_completions)
    trainer._get_per_token_logps_and_entropies = clock.wrap(
        "log-probs", trainer._get_per_token_logps_and_entropies, when=lambda: not torch.is_grad_enabled())
    timer = StepTimer(clock)
    trainer.add_callback(timer)
    trainer.train()
    trainer.save_model(str(out / "model"))
    tokenizer.save_pretrained(str(out / "model"))
    steps = timer.steps
    seconds = {phase: sum(s[phase] for s in steps) / len(steps) for phase in steps[0]}
    (out / "timings.json").write_text(json.dumps({"steps": len(steps), "seconds": seconds, "per_step": steps,
                                                  "model": str(out / "model")}, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
