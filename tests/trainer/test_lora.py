"""LoRA without a training run: the preflight's refusals, the GPU presets, the output head, the CPU
rollout server's adapter sync (fed exactly as veRL's FSDP engine feeds it) and the merge."""

from __future__ import annotations

import asyncio
import json

import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM
from verl.utils.fsdp_utils import collect_lora_params, replace_lora_wrapper

from justrl.config import compose_recipe
from justrl.lora.checks import prepare_rl, prepare_sft
from justrl.lora.merge import AdapterError, adapter_of, merge
from justrl.preflight import run_checks
from parquet_rows import write_rl_parquet

LINEAR = ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_rl_parquet(root / "dapo_math_17k" / "train.parquet", 512, "math_dapo")
    for name in ("AIME24", "AIME25", "AMC23"):
        write_rl_parquet(root / "benchmarks" / f"{name}.parquet", 30, name)
    return root


def rl(tiny_model_dir, *overrides):
    return compose_recipe("tiny_cpu", [f"actor_rollout_ref.model.path={tiny_model_dir}", *overrides])


@pytest.mark.parametrize("cluster", ["gpu_1", "node_8gpu", "a800_4x8"])
def test_gpu_presets_compose_with_lora_and_pass_the_preflight(cluster, data_dir):
    lora = ["actor_rollout_ref.model.lora_rank=64", "actor_rollout_ref.model.lora_alpha=64"]
    report = run_checks(compose_recipe("justrl_deepseek_1p5b", [f"justrl.data_dir={data_dir}", f"cluster={cluster}", *lora]))
    assert report.ok, report.problems
    # The head needs the model's layer names, which a hub id not downloaded here cannot give: one line, no silent drop.
    unembed = compose_recipe("justrl_deepseek_1p5b", [f"justrl.data_dir={data_dir}", f"cluster={cluster}", *lora, "justrl.lora.train_unembed=true"])
    assert run_checks(unembed).problems == [
        "justrl.lora.train_unembed=true with actor_rollout_ref.model.target_modules=all-linear needs the model's config to list "
        "its linear layers, and deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B is not readable here; download it first, or list "
        "actor_rollout_ref.model.target_modules (the head is added to a list)"
    ]
    listed = compose_recipe("justrl_deepseek_1p5b", [f"justrl.data_dir={data_dir}", f"cluster={cluster}", *lora, "justrl.lora.train_unembed=true", "actor_rollout_ref.model.target_modules=[q_proj,v_proj]"])
    assert run_checks(listed).ok
    assert list(listed.actor_rollout_ref.model.target_modules) == ["q_proj", "v_proj", "lm_head"]


@pytest.mark.parametrize(
    "overrides,line",
    [
        (["actor_rollout_ref.model.lora_rank=65"], "actor_rollout_ref.model.lora_rank=65 exceeds the model's hidden_size=64; a rank above it adds nothing: pick at most 64"),
        (
            ["actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.model.target_modules=[q_proj,qkv_proj]"],
            "actor_rollout_ref.model.target_modules: qkv_proj match(es) no module of {model}; its linear layers are "
            "down_proj, gate_proj, k_proj, lm_head, o_proj, q_proj, up_proj, v_proj (or use all-linear)",
        ),
        (["actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.model.target_modules=attn.*"], "actor_rollout_ref.model.target_modules: attn.* match(es) no module of {model}; its linear layers are down_proj, gate_proj, k_proj, lm_head, o_proj, q_proj, up_proj, v_proj (or use all-linear)"),
        (["actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.rollout.name=trtllm"], "actor_rollout_ref.model.lora_rank=8 with actor_rollout_ref.rollout.name=trtllm: that rollout cannot take a LoRA adapter; use one of justrl_cpu, vllm, sglang or lora_rank=0"),
        (["actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.rollout.name=vllm"], "actor_rollout_ref.model.lora_rank=8 on cluster=cpu_vllm: vLLM-CPU's LoRA path is not supported here yet; use cluster=cpu (the transformers rollout takes the adapter) or lora_rank=0"),
        (["actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.actor.strategy=megatron"], "actor_rollout_ref.model.lora_rank=8 with actor_rollout_ref.actor.strategy=megatron: these keys configure LoRA for FSDP only; use strategy fsdp or fsdp2 (Megatron reads actor_rollout_ref.model.lora.*)"),
        (
            ["actor_rollout_ref.model.lora_rank=8", "justrl.lora.train_unembed=true", "actor_rollout_ref.model.lora.merge=true"],
            "actor_rollout_ref.model.lora.merge=true with justrl.lora.train_unembed=true: {model} ties its input embedding to the head, "
            "so merging the head's adapter for the weight sync changes the embedding too; set lora.merge=false",
        ),
        (["justrl.lora.train_unembed=true"], "justrl.lora.train_unembed=true but actor_rollout_ref.model.lora_rank=0 (full fine-tuning trains the head anyway); set actor_rollout_ref.model.lora_rank or drop train_unembed"),
        (["actor_rollout_ref.model.lora_rank=8", "actor_rollout_ref.model.lora_adapter_path=/nowhere"], "actor_rollout_ref.model.lora_adapter_path=/nowhere: no adapter_config.json there; pass a PEFT adapter folder (veRL's model merger writes an SFT checkpoint's adapter to <target_dir>/lora_adapter)"),
    ],
)
def test_preflight_refuses_lora_it_cannot_run_in_one_line(tiny_model_dir, overrides, line):
    assert prepare_rl(rl(tiny_model_dir, *overrides)) == [line.format(model=tiny_model_dir)]


def test_sft_preflight_reads_the_same_keys_under_model(tiny_model_dir):
    cfg = compose_recipe("tiny_cpu_sft", [f"model.path={tiny_model_dir}", "model.lora_rank=80"])
    assert prepare_sft(cfg) == ["model.lora_rank=80 exceeds the model's hidden_size=64; a rank above it adds nothing: pick at most 64"]
    cfg = compose_recipe("tiny_cpu_sft", [f"model.path={tiny_model_dir}", "model.lora_rank=8", "justrl.lora.train_unembed=true"])
    assert prepare_sft(cfg) == [] and list(cfg.model.target_modules) == [*LINEAR, "lm_head"]


def test_train_unembed_spells_out_all_linear_and_adds_the_head(tiny_model_dir):
    cfg = rl(tiny_model_dir, "actor_rollout_ref.model.lora_rank=8", "justrl.lora.train_unembed=true")
    assert prepare_rl(cfg) == []
    assert list(cfg.actor_rollout_ref.model.target_modules) == [*LINEAR, "lm_head"]
    plain = rl(tiny_model_dir, "actor_rollout_ref.model.lora_rank=8")
    assert prepare_rl(plain) == [] and plain.actor_rollout_ref.model.target_modules == "all-linear"


def random_adapter(model_dir, targets, seed=0) -> PeftModel:
    """A PEFT model whose adapter is not zero (a fresh lora_B is), so it changes the logits."""
    torch.manual_seed(seed)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), LoraConfig(r=4, lora_alpha=8, target_modules=targets))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.5)
    return model.eval()


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


IDS = torch.tensor([[3, 17, 42, 5, 99, 7]])


def test_rollout_server_takes_verls_base_then_adapter_sync(tiny_model_dir):
    """The names and order veRL's FSDP engine sends (FSDP-free here: the same veRL functions on the
    bare PEFT model): base weights under `base_layer` names, then PEFT's adapter state dict."""
    from justrl.cpu.rollout import CPUGenerationServer

    trained = random_adapter(tiny_model_dir, [*LINEAR, "lm_head"])
    with torch.no_grad():  # the base moved too, as it does when a run starts from other weights
        trained.base_model.model.model.norm.weight.mul_(1.5)
    peft_config = trained.peft_config["default"]
    base = {replace_lora_wrapper(k, peft_config): v for k, v in collect_lora_params(trained, layered_summon=False, base_sync_done=False).items()}
    assert any(".base_layer." in name for name in base)
    adapter = collect_lora_params(trained, layered_summon=False, base_sync_done=True)

    cfg = rl(tiny_model_dir, "actor_rollout_ref.model.lora_rank=4")
    server = CPUGenerationServer(cfg.actor_rollout_ref.rollout, cfg.actor_rollout_ref.model, replica_rank=0)
    before = logits(server.model, IDS)
    asyncio.run(server.load_weights(base, peft_config=peft_config.to_dict(), base_sync_done=False))
    asyncio.run(server.load_weights(adapter, peft_config=peft_config.to_dict(), base_sync_done=True))
    assert torch.equal(logits(server.model, IDS), logits(trained, IDS))
    assert not torch.allclose(before, logits(trained, IDS), atol=1e-3)
    # The next update sends the adapter alone.
    trained_again = random_adapter(tiny_model_dir, [*LINEAR, "lm_head"], seed=1)
    with torch.no_grad():
        trained_again.base_model.model.model.norm.weight.mul_(1.5)
    asyncio.run(server.load_weights(collect_lora_params(trained_again, layered_summon=False, base_sync_done=True), peft_config=peft_config.to_dict(), base_sync_done=True))
    assert torch.equal(logits(server.model, IDS), logits(trained_again, IDS))


def test_merge_unties_an_adapted_head_and_equals_base_plus_adapter(tiny_model_dir, tmp_path):
    assert json.loads((tiny_model_dir / "config.json").read_text())["tie_word_embeddings"] is True
    peft_model = random_adapter(tiny_model_dir, [*LINEAR, "lm_head"])
    peft_model.save_pretrained(tmp_path / "adapter")
    merged_dir = merge(tiny_model_dir, tmp_path / "adapter", tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
    assert merged.config.tie_word_embeddings is False
    assert torch.allclose(logits(merged, IDS), logits(peft_model, IDS), atol=1e-4)  # fp32 rounding of W + BA
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    assert not torch.allclose(logits(merged, IDS), logits(base, IDS), atol=1e-2)
    assert torch.equal(merged.get_input_embeddings().weight, base.get_input_embeddings().weight)


def test_adapter_is_found_where_verls_merger_writes_it_and_a_wrong_folder_is_one_line(tiny_model_dir, tmp_path):
    assert adapter_of(tiny_model_dir) is None
    (tmp_path / "lora_adapter").mkdir()
    (tmp_path / "lora_adapter" / "adapter_config.json").write_text("{}")
    assert adapter_of(tmp_path) == tmp_path / "lora_adapter"
    with pytest.raises(AdapterError, match=r"^adapter=/nowhere: no adapter_config.json there; pass a PEFT adapter folder"):
        adapter_of(tiny_model_dir, "/nowhere")


def test_verls_lora_rank_check_still_needs_vllm_and_merge_still_skips_it(data_dir):
    """The reason for justrl.lora.checks.for_validate_config: if this fails, veRL no longer imports
    vLLM to bound a LoRA rank (drop the workaround) or no longer skips it under lora.merge (fix it)."""
    import importlib.util

    from verl.utils.config import validate_config

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed: veRL's check runs as is")
    cfg = compose_recipe("smoke_1gpu", [f"justrl.data_dir={data_dir}", "actor_rollout_ref.model.lora_rank=64"])
    with pytest.raises(ValueError, match="vllm version None not supported"):
        validate_config(cfg, use_reference_policy=False, use_critic=False)
    merged = compose_recipe("smoke_1gpu", [f"justrl.data_dir={data_dir}", "actor_rollout_ref.model.lora_rank=64", "actor_rollout_ref.model.lora.merge=true"])
    validate_config(merged, use_reference_policy=False, use_critic=False)
