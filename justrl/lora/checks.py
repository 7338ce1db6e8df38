"""LoRA settings veRL would only reject (or silently ignore) once its workers are up: one line each.

Run by justrl-check / justrl-train (`actor_rollout_ref.model`) and justrl-sft (`model`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from justrl.lora.targets import ALL_LINEAR, OUTPUT_HEAD, apply_train_unembed, lora_enabled, module_names, train_unembed, with_output_head

# Rollout backends whose weight sync takes veRL's LoRA adapter (base once, then the adapter).
ADAPTER_ROLLOUTS = ("justrl_cpu", "vllm", "sglang")
LORA_STRATEGIES = ("fsdp", "fsdp2")


def hf_config(path: str) -> Any | None:
    """The model's Hugging Face config when readable offline (the preflight notes it when not)."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    except Exception:  # noqa: BLE001 - unreadable here: the model checks that need it are skipped
        return None


def rl_problems(cfg: DictConfig, model_cfg: Any | None) -> list[str]:
    """An RL config's LoRA problems; `model_cfg` is the model's HF config when readable offline."""
    model = cfg.actor_rollout_ref.model
    if not lora_enabled(model):
        return unembed_without_lora(cfg, "actor_rollout_ref.model")
    problems = []
    rollout = cfg.actor_rollout_ref.rollout.name
    if rollout not in ADAPTER_ROLLOUTS:
        problems.append(
            f"actor_rollout_ref.model.lora_rank={model.lora_rank} with actor_rollout_ref.rollout.name={rollout}: that "
            f"rollout cannot take a LoRA adapter; use one of {', '.join(ADAPTER_ROLLOUTS)} or lora_rank=0"
        )
    elif rollout == "vllm" and cfg.trainer.device == "cpu":
        problems.append(
            f"actor_rollout_ref.model.lora_rank={model.lora_rank} on cluster=cpu_vllm: vLLM-CPU's LoRA path is not "
            f"supported here yet; use cluster=cpu (the transformers rollout takes the adapter) or lora_rank=0"
        )
    strategy = cfg.actor_rollout_ref.actor.strategy
    if strategy not in LORA_STRATEGIES:
        problems.append(
            f"actor_rollout_ref.model.lora_rank={model.lora_rank} with actor_rollout_ref.actor.strategy={strategy}: "
            f"these keys configure LoRA for FSDP only; use strategy fsdp or fsdp2 (Megatron reads actor_rollout_ref.model.lora.*)"
        )
    return problems + model_problems(cfg, "actor_rollout_ref.model", model_cfg)


def sft_problems(cfg: DictConfig, model_cfg: Any | None) -> list[str]:
    """An SFT config's LoRA problems (veRL's SFT trainer reads the same keys under `model`)."""
    if not lora_enabled(cfg.model):
        return unembed_without_lora(cfg, "model")
    return model_problems(cfg, "model", model_cfg)


def unembed_without_lora(cfg: DictConfig, section: str) -> list[str]:
    if not train_unembed(cfg):
        return []
    return [f"justrl.lora.train_unembed=true but {section}.lora_rank=0 (full fine-tuning trains the head anyway); set {section}.lora_rank or drop train_unembed"]


def model_problems(cfg: DictConfig, section: str, model_cfg: Any | None) -> list[str]:
    """Rank, adapter folder and target modules against the model itself."""
    model = OmegaConf.select(cfg, section)
    rank = model.lora_rank
    problems = []
    adapter = model.get("lora_adapter_path")
    if adapter and not (Path(str(adapter)) / "adapter_config.json").is_file():
        problems.append(
            f"{section}.lora_adapter_path={adapter}: no adapter_config.json there; pass a PEFT adapter folder "
            f"(veRL's model merger writes an SFT checkpoint's adapter to <target_dir>/lora_adapter)"
        )
    if model_cfg is None:
        return problems
    hidden = getattr(model_cfg, "hidden_size", None)
    merged_sync = section == "actor_rollout_ref.model" and bool(OmegaConf.select(model, "lora.merge", default=False))
    if merged_sync and train_unembed(cfg) and getattr(model_cfg, "tie_word_embeddings", False):
        problems.append(
            f"{section}.lora.merge=true with justrl.lora.train_unembed=true: {model.path} ties its input embedding to "
            f"the head, so merging the head's adapter for the weight sync changes the embedding too; set lora.merge=false"
        )
    if hidden is not None and rank > hidden:
        problems.append(f"{section}.lora_rank={rank} exceeds the model's hidden_size={hidden}; a rank above it adds nothing: pick at most {hidden}")
    if adapter:
        return problems  # veRL takes the adapter's own targets from its folder
    names = module_names(model_cfg)
    targets = model.get("target_modules")
    if train_unembed(cfg):
        targets = with_output_head(targets, names)
    if train_unembed(cfg) and OUTPUT_HEAD not in names:
        return [*problems, f"justrl.lora.train_unembed=true but {model.path} has no {OUTPUT_HEAD} module; drop train_unembed"]
    unmatched = unmatched_targets(targets, names)
    if unmatched:
        linear = sorted({n.rsplit(".", 1)[-1] for n, is_linear in names.items() if is_linear})
        problems.append(
            f"{section}.target_modules: {', '.join(unmatched)} match(es) no module of {model.path}; its linear layers are "
            f"{', '.join(linear)} (or use {ALL_LINEAR})"
        )
    return problems


def unmatched_targets(targets: Any, names: dict[str, bool]) -> list[str]:
    """The entries of a target list that name no module (PEFT: a name or a name's last parts), or a
    regular expression that fully matches none; PEFT itself only fails when nothing at all matches."""
    if targets is None or targets == ALL_LINEAR:
        return []
    if isinstance(targets, (list, ListConfig)):
        return [str(t) for t in targets if not any(n == t or n.endswith(f".{t}") for n in names)]
    return [] if any(re.fullmatch(str(targets), n) for n in names) else [str(targets)]


def prepare_rl(cfg: DictConfig) -> list[str]:
    """justrl-check / justrl-train: the RL config's LoRA problems, and, when there are none, the
    output head written into the target list the workers read (`justrl.lora.train_unembed`)."""
    model_cfg = hf_config(cfg.actor_rollout_ref.model.path)
    return rl_problems(cfg, model_cfg) or apply_train_unembed(cfg, "actor_rollout_ref.model", model_cfg)


def prepare_sft(cfg: DictConfig) -> list[str]:
    """justrl-sft: as `prepare_rl`, for veRL's SFT trainer's `model` section."""
    model_cfg = hf_config(cfg.model.path)
    return sft_problems(cfg, model_cfg) or apply_train_unembed(cfg, "model", model_cfg)


def for_validate_config(cfg: DictConfig) -> tuple[DictConfig, str | None]:
    """The config to hand veRL's validate_config, and a note when it differs.

    veRL bounds a LoRA rank for vLLM by importing its vLLM rollout, which raises where vLLM is not
    installed (a login node, CI), so justrl-check would refuse every LoRA recipe there. Only there
    it validates a copy with veRL's `lora.merge=true`, the one flag that skips that import
    (tests/trainer/test_lora.py fails if veRL's check changes), and says the bound was not checked.
    """
    import importlib.util

    model = cfg.actor_rollout_ref.model
    if not (lora_enabled(model) and cfg.actor_rollout_ref.rollout.name == "vllm") or importlib.util.find_spec("vllm") is not None:
        return cfg, None
    view = cfg.copy()
    with open_dict(view):
        view.actor_rollout_ref.model.lora.merge = True
    return view, (
        f"actor_rollout_ref.model.lora_rank={model.lora_rank}: vLLM's largest LoRA rank not checked "
        f"(vLLM is not installed here; justrl-train checks it where it runs)"
    )
