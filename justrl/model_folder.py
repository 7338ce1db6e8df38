"""A model path that cannot hold a model, said in one line before anything loads it.

A folder with config.json and a tokenizer but no weights (a checkpoint's `huggingface/` folder, an
interrupted copy) passes every config read; veRL's workers then fail on it minutes later, inside
Ray, with a stack trace per rank. A local path that does not exist fails as a malformed hub id.
"""

from __future__ import annotations

from pathlib import Path

WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin", "*.gguf")
MERGE = "python -m verl.model_merger merge --backend fsdp --local_dir <run>/global_step_N/actor --target_dir <folder>"


def _looks_local(path: str) -> bool:
    """Hub ids are `name` or `owner/name`; anything else is meant as a folder on this machine."""
    return path.startswith(("/", ".", "~")) or path.count("/") > 1


def model_folder_problem(key: str, path: str) -> str | None:
    """Why `path` (the value of `key`) is no model to load, or None (a model folder, or a hub id)."""
    folder = Path(path).expanduser()
    if folder.is_dir():
        if any(next(folder.glob(pattern), None) for pattern in WEIGHT_FILES):
            return None
        return (
            f"{key}={path} has no weights (no {', '.join(WEIGHT_FILES)}); expected a Hugging Face model folder; "
            f"for a training checkpoint, merge it first: {MERGE}"
        )
    if folder.exists():
        return f"{key}={path} is a file; expected a Hugging Face model folder or a hub id (owner/name)"
    if _looks_local(path):
        return f"{key}={path} does not exist; expected a Hugging Face model folder or a hub id (owner/name): check the path"
    return None
