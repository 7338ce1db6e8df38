"""`justrl-prep tiny`: a task, tokenizer and model small enough to train with veRL on 2 CPU cores.

Writes, from single-digit additions split into train and held-out problems:
- OUT/train.parquet, OUT/val.parquet: veRL's RL schema, JustRL's boxed suffix on every prompt;
- OUT/benchmarks/TinyAdd.parquet: the held-out split again, as the benchmark justrl-eval reads
  with data_dir=OUT (its data_source is the benchmark's name, as for the nine);
- OUT/sft/train.parquet, OUT/sft/val.parquet: the same problems as cold-start SFT rows (veRL's
  multi-turn schema), answered in JustTinker's target format, a think block then the box;
- OUT/model/: a Hugging Face directory, a tokenizer with a ChatML template and a two-layer Qwen2.
The model is warm-started on boxed answers, a set share of them right, so that a first GRPO step
already has groups whose rewards differ (a random model never writes a box); the rest is up to RL.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from data_prep.output import write_generated_rl, write_generated_sft, write_json
from justrl_common.config import load_yaml

MODEL_DIR = "model"


def problems(operand_max: int) -> list[tuple[str, str]]:
    """Every `a + b` with single operands up to operand_max, as (question, answer)."""
    return [(f"What is {a} + {b}?", str(a + b)) for a in range(operand_max + 1) for b in range(operand_max + 1)]


def split(rows: list[tuple[str, str]], val_fraction: float, seed: int) -> tuple[list, list]:
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    n_val = max(1, round(len(shuffled) * val_fraction))
    return shuffled[n_val:], shuffled[:n_val]


def sft_answer(answer: str, think: str) -> str:
    """The JustTinker target format for one problem: a think block, then the box."""
    return f"<think>{think}</think>\n\n\\boxed{{{answer}}}"


def warm_start(model_dir: Path, rows: list[tuple[str, str]], suffix: str, settings: dict[str, Any], seed: int) -> float:
    """Teach the random model the answer format, on answers only partly right; returns the last loss."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    answers = sorted({answer for _, answer in rows}, key=int)
    rng = random.Random(seed)
    torch.manual_seed(seed)
    # A 100k-parameter model: handing its small matrices between threads costs more than it saves.
    torch.set_num_threads(1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["lr"])
    model.train()
    prompt_ids = {
        question: tokenizer.apply_chat_template([{"role": "user", "content": question + suffix}], add_generation_prompt=True, return_dict=False)
        for question, _ in rows
    }
    answer_ids = {answer: tokenizer.encode(f"\\boxed{{{answer}}}") + [tokenizer.eos_token_id] for answer in answers}
    loss = torch.tensor(0.0)
    for _ in range(settings["steps"]):
        inputs, labels = [], []
        for question, answer in rng.choices(rows, k=settings["batch_size"]):
            shown = answer if rng.random() < settings["correct_fraction"] else rng.choice(answers)
            inputs.append(prompt_ids[question] + answer_ids[shown])
            labels.append([-100] * len(prompt_ids[question]) + answer_ids[shown])
        width = max(map(len, inputs))
        ids = torch.tensor([x + [tokenizer.pad_token_id] * (width - len(x)) for x in inputs])
        target = torch.tensor([y + [-100] * (width - len(y)) for y in labels])
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in inputs])
        loss = model(input_ids=ids, attention_mask=mask, labels=target).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.save_pretrained(model_dir)
    return float(loss.detach())


def build_tiny(out: Path, seed: int | None = None) -> dict[str, Any]:
    from data_prep.tiny_model import build_model, build_tokenizer

    settings = load_yaml("data_prep.yaml")["tiny"]
    suffix = load_yaml("benchmarks.yaml")["prompt_suffix"]
    seed = settings["seed"] if seed is None else seed
    rows = problems(settings["operand_max"])
    train, val = split(rows, settings["val_fraction"], seed)
    out.mkdir(parents=True, exist_ok=True)
    for path, rows, split_name, source in (
        (out / "train.parquet", train, "train", settings["data_source"]),
        (out / "val.parquet", val, "test", settings["data_source"]),
        (out / "benchmarks" / f"{settings['benchmark']}.parquet", val, "test", settings["benchmark"]),
    ):
        write_generated_rl(path, [q + suffix for q, _ in rows], [a for _, a in rows], split_name, source)
    for path, rows, split_name in ((out / "sft" / "train.parquet", train, "train"), (out / "sft" / "val.parquet", val, "test")):
        write_generated_sft(path, [q + suffix for q, _ in rows], [sft_answer(a, settings["sft_think"]) for _, a in rows],
                            split_name, settings["data_source"])
    model_dir = out / MODEL_DIR
    build_tokenizer(model_dir, corpus=[q + suffix for q, _ in rows] + [sft_answer(a, settings["sft_think"]) for _, a in rows])
    build_model(model_dir)
    loss = warm_start(model_dir, train, suffix, settings["warm_start"], seed)
    summary = {"train_rows": len(train), "val_rows": len(val), "model": str(model_dir), "warm_start_loss": round(loss, 4), "seed": seed}
    write_json(out / "summary.json", summary)
    print(f"justrl-prep tiny: {len(train)} train / {len(val)} val problems and a tiny model in {out}")
    return summary
