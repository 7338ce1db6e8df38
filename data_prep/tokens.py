"""Chat-templated token counts, the lengths veRL itself filters and truncates by."""

from __future__ import annotations

from typing import Any

from data_prep.errors import PrepError


def load_tokenizer(path: str) -> Any:
    """A Hugging Face tokenizer from a local directory or hub id, with a clear error otherwise."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except Exception as exc:  # transformers raises OSError/ValueError/HTTP errors for a bad path or id
        raise PrepError(f"tokenizer {path!r} could not be loaded: {exc}") from exc
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
