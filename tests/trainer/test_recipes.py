"""Recipes compose on veRL's own config, carry the published values (docs/published.md), and pass preflight."""

from __future__ import annotations

import pandas as pd
import pytest

from justrl.config import ConfigError, available_recipes, compose_recipe
from justrl.preflight import run_checks
from parquet_rows import write_rl_parquet

RECIPES = ["justrl_deepseek_1p5b", "justrl_nemotron_1p5b", "justtinker_qwen3_4b_rl", "smoke_1gpu"]
SFT_RECIPES = ["justtinker_qwen3_4b_sft"]
# The laptop recipes of the CPU backend (tests/trainer/test_cpu_backend.py).
LAPTOP_RECIPES = [
    "smollm2_justtinker",
    "smollm2_justtinker_sft",
    "tiny_cpu",
    "tiny_cpu_sft",
    "tiny_justtinker",
    "tiny_justtinker_sft",
]

# docs/published.md, JustRL: identical for both backbones.
JUSTRL_VALUES = {
    "algorithm.adv_estimator": "grpo",
    "actor_rollout_ref.rollout.n": 8,
    "algorithm.use_kl_in_reward": False,
    "algorithm.kl_ctrl.kl_coef": 0.0,
    "actor_rollout_ref.actor.use_kl_loss": False,
    "actor_rollout_ref.actor.kl_loss_coef": 0.0,
    "actor_rollout_ref.actor.entropy_coeff": 0,
    "actor_rollout_ref.actor.clip_ratio_low": 0.2,
    "actor_rollout_ref.actor.clip_ratio_high": 0.28,
    "actor_rollout_ref.actor.clip_ratio_c": 10.0,
    "actor_rollout_ref.actor.grad_clip": 1.0,
    "actor_rollout_ref.actor.optim.optimizer": "AdamW",
    "actor_rollout_ref.actor.optim.lr": 1e-6,
    "actor_rollout_ref.actor.optim.lr_warmup_steps": 10,
    "actor_rollout_ref.actor.optim.lr_scheduler_type": "constant",
    "actor_rollout_ref.actor.optim.weight_decay": 0.1,
    "algorithm.filter_groups.enable": False,
    "data.max_prompt_length": 1024,
    "data.filter_overlong_prompts": True,
    "data.truncation": "error",
    "data.max_response_length": 15360,
    "data.train_batch_size": 256,
    "actor_rollout_ref.actor.ppo_mini_batch_size": 64,
    "actor_rollout_ref.actor.use_dynamic_bsz": True,
    "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": 32768,
    "actor_rollout_ref.model.use_remove_padding": True,
    "actor_rollout_ref.model.enable_gradient_checkpointing": True,
    "actor_rollout_ref.rollout.name": "vllm",
    "actor_rollout_ref.rollout.temperature": 1.0,
    "actor_rollout_ref.rollout.gpu_memory_utilization": 0.85,
    "actor_rollout_ref.rollout.max_num_batched_tokens": 32768,
    "actor_rollout_ref.rollout.tensor_model_parallel_size": 1,
    "actor_rollout_ref.actor.ulysses_sequence_parallel_size": 1,
    "actor_rollout_ref.ref.fsdp_config.param_offload": True,
    # veRL's dapo manager, which also passes the response's token count (justrl/reward_manager.py).
    "reward.reward_manager.name": "JustRLRewardManager",
    "reward.custom_reward_function.reward_kwargs.terms.overlong.weight": 0.0,
    "reward.reward_kwargs.overlong_buffer_cfg.enable": False,
    "reward.custom_reward_function.path": "pkg://reward_fns.adapter",
    "reward.custom_reward_function.reward_kwargs.correct_score": 1.0,
    "reward.custom_reward_function.reward_kwargs.incorrect_score": -1.0,
    "reward.custom_reward_function.reward_kwargs.training_sources": ["math_dapo"],
    "justrl.health.early_stop.enabled": False,
    "trainer.val_before_train": True,
    "trainer.test_freq": 50,
    "trainer.save_freq": 50,
    "actor_rollout_ref.rollout.val_kwargs.n": 32,
    "actor_rollout_ref.rollout.val_kwargs.temperature": 0.7,
    "actor_rollout_ref.rollout.val_kwargs.top_p": 0.9,
    "actor_rollout_ref.rollout.val_kwargs.do_sample": True,
    "justrl.eval.max_new_tokens": 31744,
    "trainer.nnodes": 4,
    "trainer.n_gpus_per_node": 8,
    "trainer.total_epochs": 1,
}

# docs/published.md, JustTinker stage 2 (exp 003): what differs from, or adds to, the JustRL values.
JUSTTINKER_VALUES = {
    "actor_rollout_ref.model.path": "Qwen/Qwen3-4B-Instruct-2507",
    "actor_rollout_ref.rollout.n": 8,
    "actor_rollout_ref.actor.clip_ratio_low": 0.2,
    "actor_rollout_ref.actor.clip_ratio_high": 0.28,
    "actor_rollout_ref.actor.use_kl_loss": False,
    "algorithm.use_kl_in_reward": False,
    "actor_rollout_ref.actor.entropy_coeff": 0,
    "actor_rollout_ref.actor.optim.lr": 1e-6,
    "data.train_batch_size": 32,
    "data.max_response_length": 15360,
    "trainer.test_freq": 10,
    "reward.custom_reward_function.reward_kwargs.correct_score": 1.0,
    "reward.custom_reward_function.reward_kwargs.incorrect_score": 0.0,
    "reward.custom_reward_function.reward_kwargs.terms.format.weight": 0.1,
    "reward.custom_reward_function.reward_kwargs.terms.redundancy.threshold": 0.3,
    "reward.custom_reward_function.reward_kwargs.terms.redundancy.weight": 0.3,
    "reward.custom_reward_function.reward_kwargs.terms.redundancy.method": "justtinker",
    "reward.custom_reward_function.reward_kwargs.terms.overlong.weight": 0.0,
    # JustTinker grades training data and benchmarks with its own verifier and counts a response
    # as thinking when </think> occurs in it (docs/justtinker_reward.md).
    "reward.custom_reward_function.reward_kwargs.training_verifier": "justtinker",
    "reward.custom_reward_function.reward_kwargs.verifier": "justtinker",
    "reward.custom_reward_function.reward_kwargs.terms.format.think_check": "closing_tag",
    "justrl.health.early_stop.enabled": True,
    "justrl.health.early_stop.val_drop": 0.05,
    "justrl.health.early_stop.val_patience": 3,
    "justrl.health.rules.response_length_high.threshold": 5000,
    "justrl.health.rules.thinking_rate_low.threshold": 0.6,
    "justrl.health.rules.redundancy_high.threshold": 0.4,
    "justrl.health.rules.chunk_similarity_high.threshold": 0.6,
}


def _value(cfg, key):
    from omegaconf import OmegaConf

    return OmegaConf.select(cfg, key, throw_on_missing=True)


@pytest.fixture(scope="module")
def sft_adapter(tmp_path_factory):
    """A PEFT adapter folder as veRL's merger writes one (what preflight looks for)."""
    folder = tmp_path_factory.mktemp("sft") / "lora_adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 128, "lora_alpha": 32}')
    return folder


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_rl_parquet(root / "dapo_math_17k" / "train.parquet", 1024, "math_dapo")
    for name in ("AIME24", "AIME25", "AMC23", "MATH-500"):
        write_rl_parquet(root / "benchmarks" / f"{name}.parquet", 30, name)
    return root


def test_available_recipes_are_the_published_ones():
    assert available_recipes() == sorted(RECIPES + SFT_RECIPES + LAPTOP_RECIPES)


@pytest.mark.parametrize("recipe", ["justrl_deepseek_1p5b", "justrl_nemotron_1p5b"])
@pytest.mark.parametrize("key,expected", sorted(JUSTRL_VALUES.items()))
def test_justrl_recipe_values(recipe, key, expected, composed):
    assert _value(composed(recipe), key) == expected


@pytest.mark.parametrize("key,expected", sorted(JUSTTINKER_VALUES.items()))
def test_justtinker_recipe_values(key, expected, composed):
    assert _value(composed("justtinker_qwen3_4b_rl"), key) == expected


# docs/published.md, "How JustTinker's trainer updates the model" (its code) and Tinker's
# documentation: LoRA 128 / alpha 32 on every linear layer and the head, continuing the SFT adapter;
# reward - group mean, positive advantages only, Tinker's summed PPO loss, one Adam step a batch.
QWEN3_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
JUSTTINKER_UPDATE_VALUES = {
    "actor_rollout_ref.model.lora_rank": 128,
    "actor_rollout_ref.model.lora_alpha": 32,
    "actor_rollout_ref.model.target_modules": QWEN3_LINEAR,
    "justrl.lora.train_unembed": True,
    "actor_rollout_ref.model.lora_adapter_path": "checkpoints/justrl/justtinker_qwen3_4b_sft/hf/lora_adapter",
    "algorithm.adv_estimator": "justtinker",
    "algorithm.norm_adv_by_std_in_grpo": False,
    "actor_rollout_ref.actor.loss_agg_mode": "token-sum",
    "actor_rollout_ref.actor.ppo_mini_batch_size": 32,
    "actor_rollout_ref.actor.optim.lr": 1e-6,
    "actor_rollout_ref.actor.optim.lr_warmup_steps": 0,
    "actor_rollout_ref.actor.optim.betas": [0.9, 0.95],
    "actor_rollout_ref.actor.optim.weight_decay": 0.0,
}
JUSTTINKER_SFT_UPDATE_VALUES = {
    "model.path": "Qwen/Qwen3-4B-Instruct-2507",
    "model.lora_rank": 128,
    "model.lora_alpha": 32,
    "model.target_modules": QWEN3_LINEAR,
    "justrl.lora.train_unembed": True,
    "optim.lr": 2e-5,
}


@pytest.mark.parametrize("key,expected", sorted(JUSTTINKER_UPDATE_VALUES.items()))
def test_justtinker_rl_recipe_trains_as_justtinker(key, expected, composed):
    assert _value(composed("justtinker_qwen3_4b_rl"), key) == expected


@pytest.mark.parametrize("key,expected", sorted(JUSTTINKER_SFT_UPDATE_VALUES.items()))
def test_justtinker_sft_recipe_trains_as_justtinker(key, expected, composed):
    assert _value(composed("justtinker_qwen3_4b_sft"), key) == expected


def test_justtinker_rl_recipe_continues_the_sft_runs_adapter(composed):
    """The RL stage's adapter is where veRL's merger puts the SFT run's: <its checkpoints>/hf/lora_adapter."""
    sft = composed("justtinker_qwen3_4b_sft").trainer.default_local_dir
    assert composed("justtinker_qwen3_4b_rl").actor_rollout_ref.model.lora_adapter_path == f"{sft}/hf/lora_adapter"


# The laptop pipeline's RL stage changes sizes, the learning rate and the evaluation cadence only.
LAPTOP_SIZES = ("model.path", "optim.lr", "train_batch_size", "max_response_length", "test_freq")


@pytest.mark.parametrize(
    "key,expected", sorted((k, v) for k, v in JUSTTINKER_VALUES.items() if not k.endswith(LAPTOP_SIZES))
)
def test_laptop_justtinker_recipe_keeps_the_published_reward_and_monitor(key, expected, composed):
    assert _value(composed("tiny_justtinker"), key) == expected


def test_laptop_justtinker_learning_rate_schedule(composed):
    # 1e-3 instead of 1e-6, and JustRL's schedule: 10 warmup steps, then constant, for 30 steps.
    cfg = composed("tiny_justtinker")
    optim = cfg.actor_rollout_ref.actor.optim
    assert (optim.lr, optim.lr_warmup_steps, optim.lr_scheduler_type) == (1e-3, 10, "constant")
    assert cfg.trainer.total_training_steps == 30


@pytest.mark.parametrize(
    "key,expected", sorted((k, v) for k, v in JUSTTINKER_VALUES.items() if not k.endswith(LAPTOP_SIZES + ("rollout.n",)))
)
def test_real_model_laptop_recipe_keeps_the_published_reward_and_monitor(key, expected, composed):
    assert _value(composed("smollm2_justtinker"), key) == expected


def test_real_model_laptop_recipe_is_issue_22s_workload(composed):
    """SmolLM2's RL stage: the workload measured against TRL (8 prompts x 4, <= 96 tokens, lr 1e-5,
    one update a batch), bf16 compute over fp32 weights in actor, rollout and SFT, the rollout's
    log-probs taken as the old ones, the prepared model."""
    cfg = composed("smollm2_justtinker")
    actor = cfg.actor_rollout_ref.actor
    assert (cfg.data.train_batch_size, cfg.actor_rollout_ref.rollout.n, cfg.data.max_response_length) == (8, 4, 96)
    assert (actor.optim.lr, actor.optim.lr_warmup_steps, actor.ppo_mini_batch_size) == (1e-5, 0, 8)
    precision = actor.fsdp_config.mixed_precision
    assert (precision.param_dtype, precision.reduce_dtype, actor.fsdp_config.model_dtype) == ("bf16", "fp32", "fp32")
    assert cfg.actor_rollout_ref.rollout.dtype == "bfloat16"
    # one rank and one rollout server on every core, one agent-loop and one reward worker (cluster=cpu's)
    assert (cfg.trainer.n_gpus_per_node, cfg.ray_kwargs.ray_init.num_gpus) == (1, 1)
    assert (cfg.actor_rollout_ref.rollout.agent.num_workers, cfg.reward.num_workers) == (1, 1)
    assert cfg.algorithm.rollout_correction.bypass_mode is True
    assert cfg.actor_rollout_ref.model.path == f"{cfg.justrl.model_cache}/SmolLM2-135M-Instruct"
    assert cfg.justrl.model_prep == "justrl-prep smollm2"
    assert cfg.data.train_files.endswith("sums/train.parquet") and cfg.trainer.total_training_steps == 24
    sft = composed("smollm2_justtinker_sft")
    assert sft.model.path == cfg.actor_rollout_ref.model.path
    assert (sft.data.train_batch_size, sft.trainer.total_training_steps, sft.optim.lr) == (16, 20, 5e-5)
    assert (sft.engine.mixed_precision.param_dtype, sft.engine.mixed_precision.reduce_dtype) == ("bf16", "fp32")
    assert sft.data.train_files.endswith("sums/sft/train.parquet")


def test_backbones(composed):
    deepseek = composed("justrl_deepseek_1p5b")
    assert deepseek.actor_rollout_ref.model.path == "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
    assert composed("justrl_nemotron_1p5b").actor_rollout_ref.model.path == "nvidia/OpenMath-Nemotron-1.5B"
    # R1-Distill's template opens <think> in the prompt; the thinking rate must not read 0 for it.
    assert deepseek.reward.custom_reward_function.reward_kwargs.terms.format.think_opened_by_prompt is True
    assert composed("justrl_nemotron_1p5b").reward.custom_reward_function.reward_kwargs.terms.format.think_opened_by_prompt is False


def test_justrl_trains_on_dapo_and_validates_on_aime_amc(composed):
    cfg = composed("justrl_deepseek_1p5b")
    assert cfg.data.train_files == "data/dapo_math_17k/train.parquet"
    assert [p.rsplit("/", 1)[1] for p in cfg.data.val_files] == ["AIME24.parquet", "AIME25.parquet", "AMC23.parquet"]


@pytest.fixture(scope="module")
def composed():
    cache = {}

    def get(recipe):
        if recipe not in cache:
            cfg = compose_recipe(recipe, [])
            from omegaconf import OmegaConf

            OmegaConf.resolve(cfg)
            cache[recipe] = cfg
        return cache[recipe]

    return get


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_passes_verl_validation_and_preflight(recipe, data_dir, sft_adapter):
    # The JustTinker RL stage continues the SFT run's adapter: preflight wants that folder.
    adapter = [f"actor_rollout_ref.model.lora_adapter_path={sft_adapter}"] if recipe == "justtinker_qwen3_4b_rl" else []
    cfg = compose_recipe(recipe, [f"justrl.data_dir={data_dir}", *adapter])
    report = run_checks(cfg)
    assert report.problems == []
    assert report.plan["prompts a step"] == cfg.data.train_batch_size
    assert report.plan["training rows"] == "1,024"


def test_plan_figures_for_justrl(data_dir):
    report = run_checks(compose_recipe("justrl_deepseek_1p5b", [f"justrl.data_dir={data_dir}"]))
    assert report.plan["GPUs"] == "32 (4 node(s) x 8)"
    assert report.plan["responses a step"] == 2048
    assert report.plan["steps an epoch"] == 4
    assert report.plan["steps in total"] == 4
    assert report.plan["generated tokens a step (upper bound)"] == f"{2048 * 15360:,}"


def test_override_reaches_composed_config():
    cfg = compose_recipe("justrl_deepseek_1p5b", ["actor_rollout_ref.actor.optim.lr=2e-6", "cluster=node_8gpu"])
    assert cfg.actor_rollout_ref.actor.optim.lr == 2e-6
    assert (cfg.trainer.nnodes, cfg.trainer.n_gpus_per_node) == (1, 8)


def test_justrls_zero_coefficients_take_a_fractional_override():
    """JustRL turns the entropy bonus and the KL terms off with 0.0, so that trying one is a number."""
    cfg = compose_recipe("justrl_deepseek_1p5b", ["actor_rollout_ref.actor.entropy_coeff=0.001",
                                                  "actor_rollout_ref.actor.kl_loss_coef=0.01", "algorithm.kl_ctrl.kl_coef=0.01"])
    assert cfg.actor_rollout_ref.actor.entropy_coeff == 0.001


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["trainer.totl_epochs=3"], "unknown key 'trainer.totl_epochs' (did you mean trainer.total_epochs?)"),
        (["data.train_batch_size=abc"], "data.train_batch_size='abc' has the wrong type: expected an integer"),
        (["cluster=a800"], "unknown config choice 'cluster/a800'; available cluster options: a800_4x8, cpu, cpu_sft, cpu_vllm, gpu_1, node_8gpu"),
    ],
)
def test_bad_overrides_are_one_line_errors(overrides, message):
    with pytest.raises(ConfigError) as err:
        compose_recipe("smoke_1gpu", overrides)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_preflight_reports_batches_that_do_not_split(data_dir):
    cfg = compose_recipe("justrl_deepseek_1p5b", [f"justrl.data_dir={data_dir}", "data.train_batch_size=102"])
    problems = run_checks(cfg).problems
    assert any(p.startswith("data.train_batch_size=102 x actor_rollout_ref.rollout.n=8 = 816 responses do not split evenly over 32 GPUs") for p in problems)
    assert any(p.startswith("actor_rollout_ref.actor.ppo_mini_batch_size=64 does not divide data.train_batch_size=102") for p in problems)


def test_preflight_checks_context_against_local_model(data_dir, tiny_model_dir):
    base = [f"justrl.data_dir={data_dir}", f"actor_rollout_ref.model.path={tiny_model_dir}"]
    assert run_checks(compose_recipe("smoke_1gpu", base)).problems == []
    too_long = run_checks(compose_recipe("smoke_1gpu", base + ["data.max_response_length=32000", "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=40000", "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=40000", "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu=40000"]))
    assert any("= 33024 exceeds the model's max_position_embeddings=32768" in p for p in too_long.problems)


def test_preflight_reports_wrong_schema(data_dir, tmp_path):
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"question": ["1+1?"], "answer": ["2"]}).to_parquet(bad)
    cfg = compose_recipe("smoke_1gpu", [f"justrl.data_dir={data_dir}", f"data.train_files={bad}"])
    problems = run_checks(cfg).problems
    assert problems == [f"data.train_files: {bad} lacks column(s) data_source, prompt, ability, reward_model; veRL's RL schema needs data_source, prompt, ability, reward_model (write it with justrl-prep)"]
