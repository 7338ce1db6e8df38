"""Prompt lengths in the model's own tokens, for runs that ask for an error on an over-long prompt.

With `data.truncation=error` and `data.filter_overlong_prompts=false` a user says "every prompt
fits data.max_prompt_length, stop me if one does not". veRL 0.9.1 never checks it: only its
filter tokenizes prompts at start-up, and its agent loop keeps the last max_prompt_length tokens
of a longer prompt (`AgentLoopBase._cap_text_prompt_length`, a warning in a worker's log), so the
model trains on problems cut at the front. The preflight measures them instead, as veRL's filter
does (the chat template with the generation prompt and data.apply_chat_template_kwargs, the
tokenizer of actor_rollout_ref.model with its custom_chat_template), in batches, each distinct
prompt once: DAPO-Math-17k as JustRL trained on it repeats ~17k problems over 1.8M rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from omegaconf import DictConfig, OmegaConf

# Distinct prompts measured per file; beyond this an even sample is measured and the report says so.
MAX_PROMPTS = 50_000
BATCH = 1024


@dataclass(frozen=True)
class Overlong:
    """Rows whose prompt is longer than the limit, among the distinct prompts measured."""

    rows: int
    longest: int
    first_row: int


def applies(cfg: DictConfig) -> bool:
    """Only this combination ends in neither a filter nor a truncation the user asked for."""
    return cfg.data.get("truncation") == "error" and not cfg.data.get("filter_overlong_prompts")


def load_tokenizer(cfg: DictConfig) -> Any:
    """The tokenizer veRL renders prompts with (HFModelConfig: tokenizer_path, custom_chat_template)."""
    from transformers import AutoTokenizer

    model = cfg.actor_rollout_ref.model
    tokenizer = AutoTokenizer.from_pretrained(
        model.get("tokenizer_path") or model.path, local_files_only=True, trust_remote_code=bool(model.get("trust_remote_code"))
    )
    if model.get("custom_chat_template"):
        tokenizer.chat_template = model.custom_chat_template
    return tokenizer


def distinct_prompts(path: str, prompt_key: str) -> tuple[pa.Array, np.ndarray, np.ndarray, int]:
    """Each distinct prompt once: (prompts, the row each first appears in, each one's row count, rows)."""
    column = pq.read_table(path, columns=[prompt_key]).column(0).combine_chunks()
    messages = column.values
    turn = pc.binary_join_element_wise(pc.struct_field(messages, "role"), pc.struct_field(messages, "content"), "\x1f")
    keys = pc.binary_join(type(column).from_arrays(column.offsets, turn, mask=column.is_null()), "\x1e")
    codes = pc.fill_null(pc.dictionary_encode(keys).indices, -1).to_numpy(zero_copy_only=False)
    distinct, first_rows, counts = np.unique(codes, return_index=True, return_counts=True)
    keep = distinct >= 0  # rows without a prompt are the schema check's to report
    first_rows, counts = first_rows[keep], counts[keep]
    return column.take(pa.array(first_rows)), first_rows, counts, len(column)


def token_lengths(tokenizer: Any, prompts: list, template_kwargs: dict) -> list[int]:
    """Lengths as veRL's doc2len counts them (generation prompt on, no extra special tokens)."""
    lengths: list[int] = []
    for start in range(0, len(prompts), BATCH):
        texts = tokenizer.apply_chat_template(
            prompts[start : start + BATCH], add_generation_prompt=True, tokenize=False, **template_kwargs
        )
        ids = tokenizer(texts, add_special_tokens=False, return_attention_mask=False)["input_ids"]
        lengths.extend(len(row) for row in ids)
    return lengths


def find_overlong(path: str, cfg: DictConfig, tokenizer: Any) -> tuple[Overlong | None, int, int]:
    """(over-long rows or None, distinct prompts measured, distinct prompts in the file)."""
    prompts, first_rows, counts, _ = distinct_prompts(path, cfg.data.prompt_key)
    picked = np.arange(len(prompts))
    if len(picked) > MAX_PROMPTS:
        picked = np.sort(np.random.default_rng(0).choice(len(picked), MAX_PROMPTS, replace=False))
    kwargs = OmegaConf.select(cfg, "data.apply_chat_template_kwargs") or {}
    kwargs = OmegaConf.to_container(kwargs, resolve=True) if OmegaConf.is_config(kwargs) else dict(kwargs)
    lengths = np.array(token_lengths(tokenizer, prompts.take(pa.array(picked)).to_pylist(), kwargs))
    over = lengths > cfg.data.max_prompt_length
    if not over.any():
        return None, len(picked), len(prompts)
    found = Overlong(
        rows=int(counts[picked[over]].sum()), longest=int(lengths.max()), first_row=int(first_rows[picked[over]].min())
    )
    return found, len(picked), len(prompts)


class PromptLengthCheck:
    """Measures each readable data file; the tokenizer is loaded once, and only when a file needs it."""

    def __init__(self, cfg: DictConfig, problems: list[str], notes: list[str]) -> None:
        self.cfg, self.problems, self.notes = cfg, problems, notes
        self._tokenizer = functools.cache(self._load)

    def _load(self) -> Any:
        try:
            return load_tokenizer(self.cfg)
        except Exception:  # noqa: BLE001 - not readable on this machine: a note, not a failure
            self.notes.append(
                f"tokenizer {self.cfg.actor_rollout_ref.model.path}: not readable on this machine; prompt lengths "
                f"not checked against data.max_prompt_length"
            )
            return None

    def check(self, path: str, where: str) -> None:
        if not applies(self.cfg) or self._tokenizer() is None:
            return
        try:
            found, measured, distinct = find_overlong(path, self.cfg, self._tokenizer())
        except (pa.ArrowException, KeyError, TypeError, ValueError):
            return  # a prompt column that is not chat messages is reported by the schema check
        if measured < distinct:
            self.notes.append(f"{where}: {path}: prompt lengths measured on {measured:,} of {distinct:,} distinct prompts (a sample)")
        if found is None:
            return
        limit = self.cfg.data.max_prompt_length
        self.problems.append(
            f"{where}: {path}: {found.rows:,} rows have prompts longer than data.max_prompt_length={limit} tokens "
            f"(longest {found.longest}, first: row {found.first_row}), and data.truncation=error with "
            f"data.filter_overlong_prompts=false expects none (veRL would keep only their last {limit} tokens); "
            f"set data.filter_overlong_prompts=true to drop them, or data.max_prompt_length={found.longest}"
        )
