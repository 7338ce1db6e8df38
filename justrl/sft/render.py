"""Render rows through veRL's own MultiTurnSFTDataset and check what the loss really covers.

Chat templates differ in what they keep: Qwen-family templates drop the reasoning of earlier
assistant turns, and some strip `<think>` content outright. veRL renders each turn on its own
and trains on the assistant turns' tokens, so the only trustworthy check is the one done here:
decode the loss-masked tokens of the rendered sequence and require every assistant turn, think
block included, to be in them, and measure the true token length against data.max_length.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

# Large enough that veRL never truncates or raises while we measure the real length.
_UNBOUNDED = 1 << 30


@dataclass
class RenderFindings:
    """Per sampled row: token length; rows over max_length; rows whose target was cut or failed."""

    lengths: list[int] = field(default_factory=list)
    over_length: list[tuple[int, int]] = field(default_factory=list)
    target_lost: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class RenderedRow:
    input_ids: list[int]
    loss_mask: list[int]


def sft_dataset(files: list[str], data_cfg: DictConfig, tokenizer: Any) -> Any:
    """veRL's dataset with the recipe's data settings, but no length limit (we measure it)."""
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

    cfg = OmegaConf.merge(data_cfg, {"max_length": _UNBOUNDED, "truncation": "error", "pad_mode": "no_padding"})
    with contextlib.redirect_stdout(io.StringIO()):
        return MultiTurnSFTDataset(list(files), tokenizer, cfg)


def render_row(dataset: Any, index: int) -> RenderedRow:
    with contextlib.redirect_stdout(io.StringIO()):
        item = dataset[index]
    return RenderedRow(item["input_ids"].tolist(), item["loss_mask"].tolist())


def trained_text(tokenizer: Any, row: RenderedRow) -> str:
    """The text the loss is computed on: the loss-masked tokens, decoded in order."""
    return tokenizer.decode([t for t, m in zip(row.input_ids, row.loss_mask) if m], skip_special_tokens=False)


def _squash(text: str) -> str:
    """Templates may re-space around tags (`<think>\\n`); a lost or cut target shows regardless."""
    return re.sub(r"\s+", "", text)


def keeps_targets(trained: str, messages: list[dict[str, str]]) -> bool:
    squashed = _squash(trained)
    return all(_squash(m["content"]) in squashed for m in messages if m["role"] == "assistant")


def check_rendering(dataset: Any, tokenizer: Any, max_length: int, rows: int) -> RenderFindings:
    """Render the first `rows` rows (all when rows < 0) exactly as veRL's SFT trainer will."""
    found = RenderFindings()
    count = len(dataset) if rows < 0 else min(rows, len(dataset))
    for i in range(count):
        try:
            row = render_row(dataset, i)
        except (AssertionError, ValueError, KeyError, TypeError) as exc:
            found.failed.append((i, " ".join(str(exc).split())[:300]))
            continue
        found.lengths.append(len(row.input_ids))
        if len(row.input_ids) > max_length:
            found.over_length.append((i, len(row.input_ids)))
        if not keeps_targets(trained_text(tokenizer, row), dataset.messages[i]):
            found.target_lost.append(i)
    return found
