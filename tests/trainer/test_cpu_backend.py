"""The CPU backend's pieces, each against the installed veRL 0.9.1: the platform plugin, the rollout
registries, the two places veRL's process-group string is worked around, the rollout server's
generation and log-probs, and cluster=cpu composed onto every RL recipe. The live trainer runs in
test_cpu_training.py."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest
import torch

from justrl.config import compose_recipe
from justrl.preflight import run_checks

GPU_RL_RECIPES = ["justrl_deepseek_1p5b", "justrl_nemotron_1p5b", "justtinker_qwen3_4b_rl", "smoke_1gpu"]


def test_platform_plugin_loads_in_a_fresh_process_through_verls_entry_point():
    (plugin,) = [ep for ep in entry_points(group="verl.plugins") if ep.name == "justrl_cpu"]
    assert plugin.value == "justrl.cpu.platform"
    probe = (
        "import verl\n"
        "from verl.plugin.platform import get_platform\n"
        "from verl.utils.device import get_device_name, get_nccl_backend, get_resource_name, get_torch_device\n"
        "p = get_platform()\n"
        "print(type(p).__module__, get_device_name(), get_nccl_backend(), get_resource_name(), p.current_device(),\n"
        "      get_torch_device().__name__, torch_ok := get_torch_device().get_rng_state().numel() > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], env={**_env(), "VERL_PLATFORM": "cpu"}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["justrl.cpu.platform", "cpu", "gloo", "GPU", "cpu", "justrl.cpu.torch_cpu", "True"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "VERL_PLATFORM"}


def test_rollout_backend_is_in_both_verl_registries():
    """`_ROLLOUT_REGISTRY` is a module dict with no public API: fail loudly if veRL reshapes it."""
    from verl.workers.rollout import base
    from verl.workers.rollout.replica import get_rollout_replica_class

    import justrl.cpu.rollout as rollout

    assert isinstance(base._ROLLOUT_REGISTRY, dict) and ("vllm", "async") in base._ROLLOUT_REGISTRY
    assert base.get_rollout_class(rollout.ROLLOUT_NAME, "async") is rollout.CPUServerAdapter
    assert get_rollout_replica_class(rollout.ROLLOUT_NAME) is rollout.CPUReplica


def test_verl_still_builds_the_backend_string_the_cpu_workers_avoid():
    """If veRL stops naming the device twice, justrl.cpu.distributed's workaround can go."""
    from verl.utils import distributed

    for fn in (distributed.initialize_global_process_group, distributed.initialize_global_process_group_ray):
        assert 'f"cpu:gloo,{get_device_name()}:{get_nccl_backend()}"' in inspect.getsource(fn)
    assert "if not torch.distributed.is_initialized():" in inspect.getsource(distributed.initialize_global_process_group_ray)


def test_verl_run_sft_is_still_the_three_steps_the_cpu_sft_worker_takes():
    from verl.trainer.sft_trainer import run_sft

    body = [line.strip() for line in inspect.getsource(run_sft).splitlines()[1:] if line.strip()]
    assert body == [
        "from verl.utils.distributed import initialize_global_process_group",
        "initialize_global_process_group()",
        "trainer = SFTTrainer(config=config)",
        "trainer.fit()",
        "destroy_global_process_group()",
    ]


def test_verl_registers_its_fsdp_engine_for_gpus_only_and_ours_adds_cpu():
    from verl.workers.engine.base import EngineRegistry
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

    from justrl.cpu.distributed import register_fsdp_engine

    register_fsdp_engine()
    register_fsdp_engine()  # idempotent: the RL worker module and the SFT worker both call it
    for backend in ("fsdp", "fsdp2"):
        assert EngineRegistry._engines["language_model"][backend]["cpu"] is FSDPEngineWithLMHead


def test_generate_batch_matches_transformers_and_returns_the_models_log_probs(tiny_model_dir):
    """Left padding must not change a greedy answer; the log-probs are those of a plain forward pass."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from justrl.cpu.rollout import Sampling, generate_batch

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    prompts = [tokenizer.encode(text) for text in ("What is 2 + 3?", "Let x be a real number such that x^2 - 5x + 6 = 0.")]
    eos = {tokenizer.eos_token_id}
    results = generate_batch(model, prompts, Sampling(0.0, 1.0, -1, 6, True), tokenizer.pad_token_id, eos)
    for prompt, (tokens, log_probs) in zip(prompts, results):
        alone = model.generate(torch.tensor([prompt]), max_new_tokens=6, do_sample=False, eos_token_id=sorted(eos), pad_token_id=tokenizer.pad_token_id)
        expected = alone[0, len(prompt) :].tolist()
        assert tokens == expected[: len(tokens)] and 1 <= len(tokens) <= 6
        with torch.no_grad():
            logits = model(torch.tensor([prompt + tokens])).logits[0, len(prompt) - 1 : -1]
        reference = torch.log_softmax(logits, -1).gather(-1, torch.tensor(tokens).unsqueeze(-1)).squeeze(-1)
        assert torch.allclose(torch.tensor(log_probs), reference, atol=1e-4)


@pytest.mark.parametrize("overrides,dtype", [([], torch.float32), (["actor_rollout_ref.rollout.dtype=bfloat16"], torch.bfloat16)])
def test_rollout_server_computes_in_the_rollout_dtype(tiny_model_dir, overrides, dtype):
    """cluster=cpu's fp32 by default; a recipe with a bf16 actor (smollm2_justtinker) sets bf16."""
    from justrl.cpu.rollout import CPUGenerationServer

    cfg = compose_recipe("tiny_cpu", [f"actor_rollout_ref.model.path={tiny_model_dir}", *overrides])
    server = CPUGenerationServer(cfg.actor_rollout_ref.rollout, cfg.actor_rollout_ref.model, replica_rank=0)
    assert {p.dtype for p in server.model.parameters()} == {dtype}


def test_each_rank_and_server_computes_on_its_share_of_the_cores(tiny_model_dir):
    """Ray starts the actors with one thread; one server a node takes every core, two take half each."""
    from justrl.cpu.rollout import CPUGenerationServer
    from justrl.cpu.threads import share_of_cores

    cores = len(os.sched_getaffinity(0))
    assert (share_of_cores(1), share_of_cores(2), share_of_cores(cores + 1)) == (cores, max(1, cores // 2), 1)
    cfg = compose_recipe("tiny_cpu", [f"actor_rollout_ref.model.path={tiny_model_dir}"])
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        CPUGenerationServer(cfg.actor_rollout_ref.rollout, cfg.actor_rollout_ref.model, replica_rank=0, replicas_on_node=1)
        assert torch.get_num_threads() == cores
    finally:
        torch.set_num_threads(before)


def test_sampled_log_probs_are_over_the_temperature(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from justrl.cpu.rollout import Sampling, generate_batch

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    prompt = tokenizer.encode("What is 2 + 3?")
    torch.manual_seed(0)
    ((tokens, log_probs),) = generate_batch(model, [prompt], Sampling(0.7, 1.0, -1, 5, True), tokenizer.pad_token_id, {tokenizer.eos_token_id})
    with torch.no_grad():
        logits = model(torch.tensor([prompt + tokens])).logits[0, len(prompt) - 1 : -1] / 0.7
    reference = torch.log_softmax(logits, -1).gather(-1, torch.tensor(tokens).unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(torch.tensor(log_probs), reference, atol=1e-4)


@pytest.mark.parametrize("recipe", GPU_RL_RECIPES)
def test_every_rl_recipe_composes_on_cluster_cpu(recipe, tmp_path):
    # justtinker_qwen3_4b_rl continues the SFT run's LoRA adapter: preflight wants the folder.
    adapter = tmp_path / "lora_adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    cfg = compose_recipe(recipe, ["cluster=cpu", f"justrl.data_dir={tmp_path}", f"actor_rollout_ref.model.lora_adapter_path={adapter}"])
    assert cfg.trainer.device == "cpu" and cfg.trainer.n_gpus_per_node == 2 and cfg.trainer.nnodes == 1
    assert cfg.actor_rollout_ref.rollout.name == "justrl_cpu"
    assert cfg.actor_rollout_ref.actor.strategy == cfg.actor_rollout_ref.ref.strategy == "fsdp2"
    assert cfg.actor_rollout_ref.actor.fsdp_config.mixed_precision.param_dtype == "fp32"
    assert cfg.ray_kwargs.ray_init.num_gpus == 2
    assert cfg.ray_kwargs.ray_init.runtime_env.env_vars.VERL_PLATFORM == "cpu"
    assert cfg.transfer_queue.backend.SimpleStorage.num_data_storage_units == 1
    # the fewest processes a laptop's run starts: one agent-loop and one reward worker, no dashboard
    assert (cfg.actor_rollout_ref.rollout.agent.num_workers, cfg.reward.num_workers) == (1, 1)
    assert cfg.ray_kwargs.ray_init.include_dashboard is False
    report = run_checks(cfg)
    assert not [p for p in report.problems if "does not exist" not in p]  # only the data is missing here
    assert report.plan["CPU ranks"] == "2 (1 node(s) x 2)"


def test_laptop_recipe_keeps_justrls_algorithm(tmp_path):
    """tiny_cpu changes sizes and the learning rate, never the algorithm."""
    cfg = compose_recipe("tiny_cpu", [f"justrl.data_dir={tmp_path}"])
    assert cfg.algorithm.adv_estimator == "grpo" and cfg.algorithm.use_kl_in_reward is False
    actor = cfg.actor_rollout_ref.actor
    assert (actor.clip_ratio_low, actor.clip_ratio_high, actor.clip_ratio_c, actor.entropy_coeff, actor.use_kl_loss) == (0.2, 0.28, 10.0, 0, False)
    assert cfg.reward.reward_manager.name == "JustRLRewardManager"  # veRL's dapo manager plus token counts
    assert list(cfg.reward.custom_reward_function.reward_kwargs.training_sources) == ["tiny_add"]
    assert cfg.actor_rollout_ref.model.path == f"{tmp_path}/tiny/model"


def test_launcher_drops_local_ray_resources_when_joining_a_cluster(monkeypatch, tmp_path):
    from justrl.cpu.launch import prepare

    cfg = compose_recipe("tiny_cpu", [f"justrl.data_dir={tmp_path}"])
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("VERL_PLATFORM", "")  # restored after the test: prepare() sets it for real
    prepare(cfg)
    assert os.environ["VERL_PLATFORM"] == "cpu"
    assert cfg.ray_kwargs.ray_init.num_cpus == 16
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    prepare(cfg)
    assert "num_cpus" not in cfg.ray_kwargs.ray_init and "num_gpus" not in cfg.ray_kwargs.ray_init


def test_verl_replay_buffer_still_polls_at_its_poll_interval_attribute():
    """JustRLTrainer shortens the wait by setting the attribute; fail loudly if veRL renames it."""
    from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer

    assert inspect.signature(ReplayBuffer.__init__).parameters["poll_interval"].default == 2.0
    assert "time.sleep(self.poll_interval)" in inspect.getsource(ReplayBuffer._wait_for_next_poll)
    assert compose_recipe("tiny_cpu", []).justrl.replay_poll_interval_s == 0.05
