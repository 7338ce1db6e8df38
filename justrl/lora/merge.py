"""A LoRA run's model as one Hugging Face folder: base + adapter merged.

veRL's model merger (`python -m verl.model_merger merge --backend fsdp ...`) turns a LoRA
checkpoint into the frozen base weights plus `lora_adapter/` (a PEFT folder) beside them; it does
not merge. `python -m justrl.lora.merge BASE_DIR [--adapter DIR] --out OUT` does, with PEFT's
`merge_and_unload`, and justrl-eval calls the same function when given `adapter=DIR` or such a
folder. A model with tied embeddings whose output head was adapted (`justrl.lora.train_unembed`)
is untied first: merged into the shared matrix, the head's update would also change the input
embedding.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

VERL_ADAPTER_DIR = "lora_adapter"
ADAPTER_CONFIG = "adapter_config.json"


class AdapterError(ValueError):
    """A folder that is not the adapter or model it was passed as; worded for the user, one line."""


def adapter_of(model_dir: str | Path, adapter: str | Path | None = None) -> Path | None:
    """The adapter to apply: the one passed, else the `lora_adapter/` veRL's merger wrote into the model folder."""
    if adapter is not None:
        path = Path(adapter)
        if not (path / ADAPTER_CONFIG).is_file():
            raise AdapterError(f"adapter={adapter}: no {ADAPTER_CONFIG} there; pass a PEFT adapter folder (veRL's merger writes <target_dir>/{VERL_ADAPTER_DIR})")
        return path
    inside = Path(model_dir) / VERL_ADAPTER_DIR
    return inside if (inside / ADAPTER_CONFIG).is_file() else None


def merge(model_dir: str | Path, adapter: str | Path, out: str | Path) -> Path:
    """Write base + adapter, merged, as a Hugging Face model folder (tokenizer included) in `out`."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if base.config.tie_word_embeddings:
        # Give the head its own copy; merging then changes the head only, as the adapter did.
        base.lm_head.weight = torch.nn.Parameter(base.get_input_embeddings().weight.detach().clone())
        base.config.tie_word_embeddings = False
        if getattr(base.config, "text_config", None) is not None:
            base.config.text_config.tie_word_embeddings = False
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    out = Path(out)
    merged.save_pretrained(out)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m justrl.lora.merge", description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="the base model folder (veRL's merger output of a LoRA checkpoint, or the base model)")
    parser.add_argument("--adapter", default=None, help="PEFT adapter folder (default: MODEL_DIR/lora_adapter)")
    parser.add_argument("--out", required=True, help="where the merged Hugging Face folder goes")
    args = parser.parse_args(argv)
    try:
        adapter = adapter_of(args.model_dir, args.adapter)
        if adapter is None:
            raise AdapterError(f"{args.model_dir} holds no {VERL_ADAPTER_DIR}/{ADAPTER_CONFIG}; pass --adapter DIR")
    except AdapterError as exc:
        print(f"justrl.lora.merge: {exc}", file=sys.stderr)
        return 2
    print(f"justrl.lora.merge: {merge(args.model_dir, adapter, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
