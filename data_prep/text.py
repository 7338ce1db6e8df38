"""Pure string helpers: answer extraction, wrapper stripping and n-gram normalisation."""

from __future__ import annotations

import re

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def _box_spans(text: str) -> list[tuple[int, int, int]]:
    """(start, content_start, end) of every balanced \\boxed{...}; unbalanced ones are skipped."""
    spans = []
    for match in _BOX_OPEN.finditer(text):
        depth, pos = 1, match.end()
        while pos < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[pos], 0)
            pos += 1
        if depth == 0:
            spans.append((match.start(), match.end(), pos))
    return spans


def last_boxed(text: str) -> str | None:
    """Content of the last balanced \\boxed{...} (MATH solutions, SFT answers), or None."""
    spans = _box_spans(text)
    if not spans:
        return None
    _, content_start, end = spans[-1]
    return text[content_start : end - 1].strip()


def strip_boxed(answer: str) -> str:
    """The bare answer: a ground truth written as `\\boxed{204}` (JustRL's AIME24) becomes `204`.

    Only an answer that is exactly one box is unwrapped, so `\\boxed{1}, \\boxed{2}` stays intact.
    """
    text = answer.strip()
    spans = _box_spans(text)
    if len(spans) == 1 and spans[0][0] == 0 and spans[0][2] == len(text):
        return text[spans[0][1] : -1].strip()
    return text


def after_hashes(solution: str) -> str | None:
    """GSM8K's final answer: the text after the last `####`, thousands separators removed."""
    if "####" not in solution:
        return None
    return solution.rsplit("####", 1)[1].strip().replace(",", "")


def extract_answer(raw: object, mode: str) -> str | None:
    """Bare ground truth from an answer column value under one of the registry's extract modes."""
    if raw is None:
        return None
    text = str(raw)
    if mode == "last_boxed":
        found = last_boxed(text)
    elif mode == "after_hashes":
        found = after_hashes(text)
    else:
        found = text
    return strip_boxed(found) if found is not None else None


def strip_wrapper(content: str, prefix: str, suffix: str) -> str:
    """The bare problem inside DAPO's `Answer:` instruction wrapper (either part may be absent)."""
    return content.removeprefix(prefix).removesuffix(suffix).strip()


def with_suffix(problem: str, suffix: str) -> str:
    """The JustRL user turn: problem followed by the boxed-answer instruction."""
    return problem.strip() + suffix


def normalize_words(text: str) -> list[str]:
    """Lower-case alphanumeric words, so spacing, LaTeX markup and punctuation cannot hide overlap."""
    return _NON_WORD.sub(" ", text.lower()).split()
