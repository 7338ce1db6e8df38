"""`justrl-sft --check`: what an 8-GPU SFT job would find out, found in seconds on a login node.

veRL's SFT trainer silently drops a remainder of the batch that does not split over the GPUs,
ends after `total_epochs` even when `total_training_steps` is not reached (so the last checkpoint
is never written), and raises on the first over-long row mid-run; each is reported here first.
"""

from __future__ import annotations

import functools
from typing import Any

import pyarrow.parquet as pq
from omegaconf import DictConfig, OmegaConf

from justrl.preflight import (
    Report,
    check_dataclasses,
    data_files,
    model_positions,
    one_line,
    report_missing_files,
    report_unprepared_model,
)
from justrl.lora.checks import prepare_sft as prepare_lora
from justrl.model_folder import model_folder_problem
from justrl.sft.render import check_rendering, sft_dataset
from justrl.sft.rows import check_rows
from justrl.writable import unwritable_problem

# The sections veRL's SFTTrainer._build_config turns into dataclasses (model needs the weights' config).
DATACLASS_SECTIONS = ("engine", "optim", "checkpoint", "profiler")


def run_sft_checks(cfg: DictConfig) -> Report:
    report = Report()
    check_dataclasses(cfg, list(DATACLASS_SECTIONS), report)
    _check_batches(cfg, report)
    rows = _check_data(cfg, report)
    report.problems.extend(filter(None, [model_folder_problem("model.path", cfg.model.path)]))
    report.problems.extend(filter(None, [unwritable_problem("trainer.default_local_dir", cfg.trainer.default_local_dir)]))
    limit = None if report_unprepared_model(cfg, "model.path", report) else model_positions(cfg.model.path, report)
    if limit is not None and cfg.data.max_length > limit:
        report.problems.append(
            f"data.max_length={cfg.data.max_length} exceeds the model's max_position_embeddings={limit} ({cfg.model.path})"
        )
    report.problems.extend(prepare_lora(cfg))
    _check_steps(cfg, rows, report)
    report.plan = make_plan(cfg, rows)
    return report


def data_parallel_size(cfg: DictConfig) -> int:
    """GPUs over Ulysses sequence parallelism: the ranks that each take a share of the batch."""
    gpus = cfg.trainer.nnodes * cfg.trainer.n_gpus_per_node
    return max(gpus // max(cfg.engine.ulysses_sequence_parallel_size, 1), 1)


def _check_batches(cfg: DictConfig, report: Report) -> None:
    dp = data_parallel_size(cfg)
    batch = cfg.data.train_batch_size
    micro = cfg.data.micro_batch_size_per_gpu
    if batch % dp:
        report.problems.append(
            f"data.train_batch_size={batch} does not split over {dp} data-parallel GPUs; veRL would train on "
            f"{batch // dp * dp} a step; use a multiple of {dp}"
        )
    elif not cfg.data.use_dynamic_bsz and (batch // dp) % micro:
        report.problems.append(
            f"data.micro_batch_size_per_gpu={micro} does not divide the {batch // dp} sequences each GPU gets a step "
            f"(data.train_batch_size={batch} / {dp} GPUs); pick a divisor of {batch // dp}"
        )
    if cfg.data.use_dynamic_bsz and cfg.data.max_token_len_per_gpu < cfg.data.max_length:
        report.problems.append(
            f"data.max_token_len_per_gpu={cfg.data.max_token_len_per_gpu} is below one full sequence "
            f"(data.max_length={cfg.data.max_length}); set it to at least {cfg.data.max_length}"
        )


def _check_data(cfg: DictConfig, report: Report) -> int | None:
    """Files exist, rows are formatted chats, and sampled rows render within max_length."""
    train_rows = None
    key_messages = cfg.data.messages_key
    # Loaded once, and only when a file gets as far as rendering: one note if it is not readable here.
    tokenizer = functools.cache(lambda: _tokenizer(cfg, report))
    for key in ("train_files", "val_files"):
        files = data_files(cfg.data.get(key))
        missing = report_missing_files(cfg, key, report)
        if missing or not files:
            continue
        read = [(path, _read_messages(path, key, key_messages, report)) for path in files]
        if any(messages is None for _, messages in read):
            continue
        for path, messages in read:
            report.problems.extend(check_rows(messages).lines(f"data.{key}: {path}"))
        if key == "train_files":
            train_rows = sum(len(messages) for _, messages in read)
        _check_rendering(cfg, tokenizer(), files, key, report)
    return train_rows


def _read_messages(path: str, key: str, column: str, report: Report) -> list | None:
    try:
        parquet = pq.ParquetFile(path)
        if column not in parquet.schema_arrow.names:
            raise KeyError(f"columns are {', '.join(parquet.schema_arrow.names)}")
        return parquet.read(columns=[column]).column(0).to_pylist()
    except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
        report.problems.append(
            f"data.{key}: {path} has no readable '{column}' column of chat messages ({one_line(exc)}); "
            f"write it with justrl-prep openr1-sft"
        )
        return None


def _tokenizer(cfg: DictConfig, report: Report):
    from transformers import AutoTokenizer

    path = cfg.model.get("tokenizer_path") or cfg.model.path
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except Exception:  # noqa: BLE001 - not available on this machine: a note, not a failure
        report.notes.append(f"tokenizer {path}: not readable on this machine; token lengths and loss masks not checked")
        return None
    # veRL's HFModelConfig puts the custom template on the tokenizer the dataset uses; so do we.
    if cfg.model.get("custom_chat_template"):
        tokenizer.chat_template = cfg.model.custom_chat_template
    return tokenizer


def _check_rendering(cfg: DictConfig, tokenizer: Any, files: list[str], key: str, report: Report) -> None:
    if tokenizer is None:
        return
    sample = cfg.justrl.preflight_rows
    found = check_rendering(sft_dataset(files, cfg.data, tokenizer), tokenizer, cfg.data.max_length, sample)
    where = f"data.{key}"
    for index, error in found.failed[:3]:
        report.problems.append(f"{where}: row {index} does not render through veRL's MultiTurnSFTDataset: {error}")
    if found.over_length:
        shown = ", ".join(f"row {i}: {n} tokens" for i, n in found.over_length[:5])
        report.problems.append(
            f"{where}: {len(found.over_length)} rows exceed data.max_length={cfg.data.max_length} ({shown}); "
            f"rebuild with `justrl-prep openr1-sft --max-tokens {cfg.data.max_length}` or raise data.max_length"
        )
    if found.target_lost:
        report.problems.append(
            f"{where}: the chat template drops part of the assistant turn (think block or answer) from the "
            f"trained tokens in rows {', '.join(map(str, found.target_lost[:5]))}; set model.custom_chat_template "
            f"to a template that keeps the reasoning"
        )
    if found.lengths and key == "train_files":
        report.notes.append(
            f"{where}: {len(found.lengths)} rows rendered with veRL's dataset: longest {max(found.lengths)} tokens, "
            f"mean {sum(found.lengths) / len(found.lengths):.0f}; loss covers every assistant turn"
        )


def _check_steps(cfg: DictConfig, rows: int | None, report: Report) -> None:
    total = cfg.trainer.total_training_steps
    if rows is None or total is None:
        return
    per_epoch = rows // cfg.data.train_batch_size
    if per_epoch == 0:
        report.problems.append(f"data.train_files: {rows} rows are fewer than data.train_batch_size={cfg.data.train_batch_size}")
    elif per_epoch * cfg.trainer.total_epochs < total:
        need = -(-total // per_epoch)
        report.problems.append(
            f"trainer.total_epochs={cfg.trainer.total_epochs} ends the run after {per_epoch * cfg.trainer.total_epochs} "
            f"steps ({per_epoch} an epoch), before trainer.total_training_steps={total} and its final checkpoint; "
            f"set trainer.total_epochs={need}"
        )


def make_plan(cfg: DictConfig, train_rows: int | None) -> dict[str, object]:
    dp = data_parallel_size(cfg)
    batch = cfg.data.train_batch_size
    plan: dict[str, object] = {
        "GPUs": f"{cfg.trainer.nnodes * cfg.trainer.n_gpus_per_node} ({cfg.trainer.nnodes} node(s) x {cfg.trainer.n_gpus_per_node})",
        "sequences a step": batch,
        "sequences a GPU a step": batch // dp,
    }
    if not cfg.data.use_dynamic_bsz:
        plan["gradient accumulation (micro-batches)"] = max(batch // dp // cfg.data.micro_batch_size_per_gpu, 1)
    plan["max tokens a sequence"] = cfg.data.max_length
    plan["learning rate"] = cfg.optim.lr
    total = cfg.trainer.total_training_steps
    if train_rows is not None:
        per_epoch = train_rows // batch
        plan["training rows"] = f"{train_rows:,}"
        plan["steps an epoch"] = per_epoch
        runnable = per_epoch * cfg.trainer.total_epochs
        total = min(total, runnable) if total is not None else runnable
    plan["steps in total"] = total if total is not None else "unknown until the training file exists"
    out = OmegaConf.select(cfg, "trainer.default_local_dir")
    if isinstance(total, int):
        plan["final checkpoint"] = f"{out}/global_step_{total}"
    return plan
