"""Chat-templated token counts, the lengths veRL itself filters and truncates by."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from data_prep.errors import PrepError
from data_prep.hub import HUB_ID, offline_requested, unreachable_reason


def load_tokenizer(path: str) -> Any:
    """A Hugging Face tokenizer from a local directory or hub id, with a clear error otherwise;
    a hub id on a machine that cannot reach the hub fails in seconds, naming the fix."""
    fix = "pass a local model directory (--tokenizer /path/to/model)"
    if HUB_ID.match(path) and not Path(path).exists() and not offline_requested():
        reason = unreachable_reason()
        if reason:
            raise PrepError(f"tokenizer {path!r}: {reason}; {fix}, or set HF_HUB_OFFLINE=1 to use the hub cache")
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except Exception as exc:  # transformers raises OSError/ValueError/HTTP errors for a bad path or id
        hint = f"; HF_HUB_OFFLINE is set and the hub cache has no copy: {fix}" if offline_requested() else ""
        raise PrepError(f"tokenizer {path!r} could not be loaded: {' '.join(str(exc).split())}{hint}") from exc
    if not getattr(tokenizer, "chat_template", None):
        raise PrepError(f"tokenizer {path!r} has no chat template; expected the backbone's tokenizer")
    return tokenizer


def chat_lengths(tokenizer: Any, conversations: list[list[dict]], add_generation_prompt: bool) -> list[int]:
    """Token count of each conversation after the chat template, as RLHFDataset/SFT datasets see it."""
    if not conversations:
        return []
    texts = [
        tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=add_generation_prompt)
        for conv in conversations
    ]
    encoded = tokenizer(texts, add_special_tokens=False, return_attention_mask=False)["input_ids"]
    return [len(ids) for ids in encoded]


def user_prompt_lengths(tokenizer: Any, user_turns: list[str]) -> list[int]:
    """Prompt lengths as veRL measures them for max_prompt_length (generation prompt included)."""
    return chat_lengths(tokenizer, [[{"role": "user", "content": t}] for t in user_turns], add_generation_prompt=True)
