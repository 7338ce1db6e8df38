"""Hugging Face Transformers generation: slow, but runs anywhere, including CPU.

For smoke runs of the whole justrl-eval path with small models (tests, laptops); real
evaluations use the vLLM engine. Prompts are generated in left-padded batches of at most
`batch_sequences` sequences: a `generate` per prompt took minutes for 200 SmolLM2 prompts on two
cores, most of it the per-token overhead of small batches. Each batch is sampled under a seed
derived from its prompts' text, so a rerun of the same shard samples the same completions; a
resume that regenerates only some prompts batches them anew.
"""

from __future__ import annotations

import zlib
from typing import Any

from justrl.eval.engine import Completion, SamplingSpec


def _decoding(sampling: SamplingSpec, n: int) -> tuple[dict[str, Any], int]:
    """`generate` arguments for n completions, and how often to repeat what it returns.

    Temperature 0 is greedy decoding, as in vLLM, whose n completions are one sequence n times;
    Transformers can neither sample at temperature 0 nor return several greedy sequences.
    """
    if sampling.temperature == 0:
        return {"do_sample": False, "num_return_sequences": 1}, n
    return {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p, "num_return_sequences": n}, 1


class TransformersEngine:
    """GenerationEngine on one device with `model.generate(num_return_sequences=n)`."""

    concurrency = 1

    def __init__(self, model: str, device: str = "cpu", dtype: str = "float32", batch_sequences: int = 64) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model, padding_side="left")
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=getattr(torch, dtype)).to(device).eval()
        self.device = device
        self.batch_sequences = batch_sequences

    def _completions(self, generated: Any) -> list[Completion]:
        eos = self.tokenizer.eos_token_id
        out = []
        for row in generated.tolist():
            stop = row.index(eos) + 1 if eos in row else None
            kept = row[:stop] if stop else row
            out.append(
                Completion(
                    text=self.tokenizer.decode(kept, skip_special_tokens=True),
                    num_tokens=len(kept),
                    finish_reason="stop" if stop else "length",
                )
            )
        return out

    def generate(self, prompts: list[str], n: int, sampling: SamplingSpec) -> list[list[Completion]]:
        import torch

        decoding, repeat = _decoding(sampling, n)
        per_prompt = decoding["num_return_sequences"]
        per_batch = max(1, self.batch_sequences // per_prompt)
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        results = []
        for start in range(0, len(prompts), per_batch):
            batch = prompts[start : start + per_batch]
            torch.manual_seed((sampling.seed or 0) + zlib.crc32("\0".join(batch).encode("utf-8")))
            inputs = self.tokenizer(batch, add_special_tokens=False, padding=True, return_tensors="pt").to(self.device)
            with torch.no_grad():
                generated = self.model.generate(**inputs, **decoding, max_new_tokens=sampling.max_new_tokens, pad_token_id=pad_id)
            completions = self._completions(generated[:, inputs["input_ids"].shape[1] :])
            results += [completions[i * per_prompt : (i + 1) * per_prompt] * repeat for i in range(len(batch))]
        return results

    def close(self) -> None:
        self.model = None
