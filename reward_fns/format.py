"""Output-format checks: the reasoning block and the boxed final answer.

JustTinker's SFT stage teaches ``<think>reasoning</think>\\n\\nThe answer is \\boxed{42}.``; the
RL stage then docks correct answers that drop the block, because losing the thinking format
was the first symptom of the exp-001 collapse.
"""

from __future__ import annotations

from reward_fns.dapo_strings import last_boxed_only_string

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
# How a response counts as thinking (the format term's think_check option): JustTinker's closing-tag test,
# or exactly one non-empty think block with text after it.
THINK_CHECKS = ("closing_tag", "single_block")


def has_think_close(text: str) -> bool:
    """JustTinker's thinking check: the closing tag occurs anywhere in the response.

    JustTinker also accepts the ``</think>`` token id among the generated tokens; Qwen3's
    ``</think>`` is not a special token, so veRL's decoded response keeps it and this text test
    sees what the token test sees.
    """
    return isinstance(text, str) and THINK_CLOSE in text


def has_think_block(text: str, *, opened_by_prompt: bool = False) -> bool:
    """Exactly one non-empty ``<think>...</think>`` block with something after it.

    ``opened_by_prompt`` is for chat templates that end the prompt with ``<think>`` (R1-distill
    models): the response then holds only the closing tag.
    """
    if not isinstance(text, str) or text.count(THINK_CLOSE) != 1:
        return False
    end = text.find(THINK_CLOSE)
    if opened_by_prompt:
        if THINK_OPEN in text:
            return False
        start = 0
    else:
        if text.count(THINK_OPEN) != 1 or text.find(THINK_OPEN) > end:
            return False
        start = text.find(THINK_OPEN) + len(THINK_OPEN)
    return bool(text[start:end].strip()) and bool(text[end + len(THINK_CLOSE) :].strip())


def has_boxed(text: str) -> bool:
    """A complete ``\\boxed{...}`` (balanced braces) with non-empty content."""
    if not isinstance(text, str):
        return False
    boxed = last_boxed_only_string(text)
    return boxed is not None and bool(boxed[len("\\boxed{") : -1].strip())


def answer_after_think(text: str) -> bool:
    """The final boxed answer sits after the reasoning block, as the SFT format prescribes."""
    if not isinstance(text, str) or THINK_CLOSE not in text:
        return False
    return has_boxed(text[text.rfind(THINK_CLOSE) :])


def well_formed(text: str, *, opened_by_prompt: bool = False) -> bool:
    """The full JustTinker format: one reasoning block, then a boxed answer after it."""
    return has_think_block(text, opened_by_prompt=opened_by_prompt) and answer_after_think(text)
