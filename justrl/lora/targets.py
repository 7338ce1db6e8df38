"""Which modules LoRA adapts: veRL's `target_modules`, plus the output head when asked.

PEFT's `all-linear` (veRL's default) leaves out the output layer. JustTinker trains it too
(Tinker's `train_unembed=True`), and veRL has no key for it, so `justrl.lora.train_unembed=true`
replaces the target list by the same linear layers named explicitly, plus `lm_head`. With tied
embeddings (one matrix for the input embedding and the output head) the base matrix stays frozen
and shared; the adapter changes the output head only, so a merged model has to untie them
(`justrl.lora.merge`).
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

OUTPUT_HEAD = "lm_head"
ALL_LINEAR = "all-linear"


def lora_enabled(model: DictConfig) -> bool:
    return int(model.get("lora_rank") or 0) > 0


def train_unembed(cfg: DictConfig) -> bool:
    return bool(OmegaConf.select(cfg, "justrl.lora.train_unembed", default=False))


def module_names(model_config: Any) -> dict[str, bool]:
    """{module name: is a torch.nn.Linear} of the model a config describes, built on the meta device (no weights)."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(model_config)
    return {name: isinstance(module, torch.nn.Linear) for name, module in model.named_modules() if name}


def linear_leaf_names(names: dict[str, bool]) -> list[str]:
    """The last name part of every linear layer but the output head: what PEFT's all-linear adapts."""
    return sorted({name.rsplit(".", 1)[-1] for name, linear in names.items() if linear} - {OUTPUT_HEAD})


def with_output_head(targets: Any, names: dict[str, bool] | None) -> list[str] | str | None:
    """The target list plus the output head; `all-linear` is spelled out first (PEFT drops the head
    from it), which needs the model's module names (None when its config is not readable here)."""
    if isinstance(targets, (list, ListConfig)):
        listed = [str(t) for t in targets]
    elif targets in (None, ALL_LINEAR):
        if names is None:
            return None
        listed = linear_leaf_names(names)
    else:  # a regular expression: PEFT cannot mix one with names, so extend the expression
        return f"(?:{targets})|{OUTPUT_HEAD}"
    return listed if OUTPUT_HEAD in listed else [*listed, OUTPUT_HEAD]


def apply_train_unembed(cfg: DictConfig, section: str, model_config: Any | None) -> list[str]:
    """Write the head-including target list into `<section>.target_modules`, for veRL's workers to
    read; returns a problem when the list cannot be made without the model's config."""
    model = OmegaConf.select(cfg, section)
    if not (train_unembed(cfg) and lora_enabled(model)):
        return []
    targets = with_output_head(model.get("target_modules"), module_names(model_config) if model_config is not None else None)
    if targets is None:
        return [
            f"justrl.lora.train_unembed=true with {section}.target_modules={ALL_LINEAR} needs the model's config to list its "
            f"linear layers, and {model.path} is not readable here; download it first, or list {section}.target_modules "
            f"(the head is added to a list)"
        ]
    with open_dict(cfg):
        model.target_modules = targets
    return []
