"""Cold-start SFT: the JustTinker stage-1 recipe on veRL's SFT config, what veRL's own dataset
trains on (loss mask), and the preflight's reports on bad rows, batches and steps."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from omegaconf import OmegaConf
from transformers import AutoTokenizer

from justrl.config import ConfigError, compose_recipe, recipe_kind, require_kind
from justrl.sft.preflight import run_sft_checks
from justrl.sft.render import render_row, sft_dataset, trained_text

from data_prep import tiny_model as tiny_models
from parquet_rows import chat, write_sft_parquet

RECIPE = "justtinker_qwen3_4b_sft"
# The recipe's LoRA rank (128, JustTinker's) exceeds the tiny model's hidden size (64).
TINY_LORA = "model.lora_rank=8"
PROMPT = "What is 2 + 3?\n\nPlease reason step by step, and put your final answer within \\boxed{}."
ANSWER = "<think>\nWe add 2 and 3 to get 5.\n</think>\n\nThe answer is \\boxed{5}."

# docs/published.md, JustTinker stage 1, mapped onto veRL's sft_trainer_engine keys.
SFT_VALUES = {
    "model.path": "Qwen/Qwen3-4B-Instruct-2507",
    "data.max_length": 8192,
    "data.truncation": "error",
    "trainer.total_training_steps": 800,
    "data.train_batch_size": 16,
    "data.micro_batch_size_per_gpu": 1,
    "data.use_dynamic_bsz": False,
    "trainer.nnodes": 1,
    "trainer.n_gpus_per_node": 8,
    "optim.lr": 2e-5,
    "data.messages_key": "messages",
    "data.train_files": "data/openr1_sft/train.parquet",
    "data.val_files": "data/openr1_sft/val.parquet",
    "justrl.kind": "sft",
}

# The reasoning-stripping logic of Qwen3's (thinking) chat template, reduced to plain turns: an
# assistant turn keeps its <think> block only when it comes after the last user turn.
QWEN3_STYLE_TEMPLATE = (
    "{%- set ns = namespace(last_query_index=messages|length - 1, found=false) %}"
    "{%- for message in messages[::-1] %}{%- set index = (messages|length - 1) - loop.index0 %}"
    "{%- if message.role == 'user' and not ns.found %}"
    "{%- set ns.found = true %}{%- set ns.last_query_index = index %}{%- endif %}{%- endfor %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'assistant' %}"
    "{%- set content = message.content %}"
    "{%- if '</think>' in content and loop.index0 <= ns.last_query_index %}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}"
    "{{- '<|im_start|>assistant\\n' + content + '<|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


@pytest.fixture(scope="module")
def composed():
    return compose_recipe(RECIPE, [])


@pytest.fixture(scope="module")
def tokenizer(tiny_tokenizer_dir):
    return AutoTokenizer.from_pretrained(tiny_tokenizer_dir)


@pytest.mark.parametrize("key,expected", SFT_VALUES.items())
def test_recipe_values(composed, key, expected):
    assert OmegaConf.select(composed, key) == expected


def test_gradient_accumulation_is_eight_gpus_by_two(composed):
    """veRL splits data.train_batch_size over the GPUs, then into micro-batches: 16 / 8 / 1 = 2."""
    plan = run_sft_checks(composed).plan
    assert plan["sequences a step"] == 16
    assert plan["sequences a GPU a step"] == 2
    assert plan["gradient accumulation (micro-batches)"] == 2
    assert plan["final checkpoint"] == "checkpoints/justrl/justtinker_qwen3_4b_sft/global_step_800"


def test_recipe_builds_verl_sft_dataclasses(tiny_model_dir):
    """The sections veRL's SFTTrainer._build_config converts, the model one with a real directory."""
    from verl.utils.config import omega_conf_to_dataclass

    cfg = compose_recipe(RECIPE, [f"model.path={tiny_model_dir}"])
    model = omega_conf_to_dataclass(cfg.model)
    assert model.local_path == str(tiny_model_dir)
    assert model.enable_gradient_checkpointing and model.use_remove_padding
    assert omega_conf_to_dataclass(cfg.optim).lr == 2e-5
    assert omega_conf_to_dataclass(cfg.engine).strategy == "fsdp"
    assert list(omega_conf_to_dataclass(cfg.checkpoint).save_contents) == ["model", "optimizer", "extra"]


def test_recipe_kinds_keep_stages_apart():
    assert recipe_kind(RECIPE) == "sft"
    assert recipe_kind("justtinker_qwen3_4b_rl") == "rl"
    with pytest.raises(ConfigError, match=r"^recipe 'justtinker_qwen3_4b_sft' is an SFT recipe; run it with `justrl-sft recipe=justtinker_qwen3_4b_sft`"):
        require_kind(RECIPE, "rl", "justrl-train")


def _dataset(files, tokenizer, composed):
    return sft_dataset([str(f) for f in files], composed.data, tokenizer)


def test_loss_mask_is_exactly_the_assistant_turn(tmp_path, tokenizer, composed):
    """veRL's MultiTurnSFTDataset renders with the ChatML template; the loss covers every token of
    the assistant turn, <think> block included, plus its <|im_end|>, and nothing of the prompt."""
    path = write_sft_parquet(tmp_path / "one.parquet", [chat(PROMPT, ANSWER)])
    row = render_row(_dataset([path], tokenizer, composed), 0)
    target = tokenizer(ANSWER + "<|im_end|>\n", add_special_tokens=False).input_ids
    prompt = tokenizer.apply_chat_template(chat(PROMPT), tokenize=False) + "<|im_start|>assistant\n"
    assert row.input_ids == tokenizer(prompt, add_special_tokens=False).input_ids + target
    assert row.loss_mask == [0] * (len(row.input_ids) - len(target)) + [1] * len(target)
    assert trained_text(tokenizer, row) == ANSWER + "<|im_end|>\n"


def test_two_turn_row_trains_both_assistant_turns(tmp_path, tokenizer, composed):
    """veRL renders turn by turn, so with a template that keeps reasoning both think blocks are trained."""
    second = "<think>\nNow double it: 10.\n</think>\n\nThe answer is \\boxed{10}."
    path = write_sft_parquet(tmp_path / "two.parquet", [chat(PROMPT, ANSWER, "And twice that?", second)])
    row = render_row(_dataset([path], tokenizer, composed), 0)
    assert trained_text(tokenizer, row) == ANSWER + "<|im_end|>\n" + second + "<|im_end|>\n"
    assert "twice" not in trained_text(tokenizer, row)


@pytest.fixture(scope="module")
def qwen3ish_dir(tmp_path_factory, tiny_model_dir):
    """The tiny model (weights included: the preflight refuses a folder without them) with a Qwen3-style template."""
    out = tmp_path_factory.mktemp("qwen3ish")
    shutil.copytree(tiny_model_dir, out, dirs_exist_ok=True)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.chat_template = QWEN3_STYLE_TEMPLATE
    tok.save_pretrained(out)
    return out


@pytest.mark.parametrize("turns", [1, 2])
def test_reasoning_stripping_template_is_reported(tmp_path, qwen3ish_dir, turns):
    """A Qwen3-style template keeps <think> only in assistant turns after the last user turn.
    Rendering a whole single-turn conversation keeps it, but veRL's MultiTurnSFTDataset renders
    each turn on its own, and a lone assistant turn has no user turn before it: the template strips
    the reasoning even from single-turn rows. veRL's sanity check then refuses the row, and the
    preflight says so before a GPU is used; a template that keeps the reasoning fixes both."""
    tok = AutoTokenizer.from_pretrained(qwen3ish_dir)
    assert "<think>" in tok.apply_chat_template(chat(PROMPT, ANSWER), tokenize=False)
    assert "<think>" not in tok.apply_chat_template(chat(PROMPT, ANSWER, "Again?"), tokenize=False)
    assert "<think>" not in tok.apply_chat_template([chat(PROMPT, ANSWER)[1]], tokenize=False)
    row = chat(PROMPT, ANSWER) if turns == 1 else chat(PROMPT, ANSWER, "And twice that?", ANSWER)
    train = write_sft_parquet(tmp_path / "train.parquet", [row] * 16)
    overrides = [f"model.path={qwen3ish_dir}", f"data.train_files={train}", "data.val_files=null", "trainer.total_training_steps=1", TINY_LORA]
    report = run_sft_checks(_cfg(tmp_path, overrides))
    assert any(p.startswith("data.train_files: row 0 does not render through veRL's MultiTurnSFTDataset: "
                            "MultiTurnSFTDataset apply_chat_template to each turn separately") for p in report.problems), report.problems
    cfg = _cfg(tmp_path, overrides)
    cfg.model.custom_chat_template = tiny_models.CHATML_TEMPLATE
    fixed = run_sft_checks(cfg)
    assert fixed.ok, fixed.problems


@pytest.fixture(scope="module")
def data_root(tmp_path_factory, tiny_model_dir):
    """`justrl-prep openr1-sft` output shape: 40 formatted single-turn rows, 8 for validation."""
    root = tmp_path_factory.mktemp("sft_data")
    rows = [chat(f"What is {i} + {i}?", f"<think>\n{i} plus {i} is {2 * i}.\n</think>\n\nThe answer is \\boxed{{{2 * i}}}.")
            for i in range(48)]
    write_sft_parquet(root / "openr1_sft/train.parquet", rows[:40])
    write_sft_parquet(root / "openr1_sft/val.parquet", rows[40:])
    return root


def _cfg(root, overrides):
    import os

    old = os.environ.get("JUSTRL_DATA_DIR")
    os.environ["JUSTRL_DATA_DIR"] = str(root)
    try:
        cfg = compose_recipe(RECIPE, overrides)
        OmegaConf.resolve(cfg)
        return cfg
    finally:
        os.environ.pop("JUSTRL_DATA_DIR") if old is None else os.environ.__setitem__("JUSTRL_DATA_DIR", old)


def test_preflight_passes_on_good_rows(data_root, tiny_model_dir):
    report = run_sft_checks(_cfg(data_root, [f"model.path={tiny_model_dir}", "trainer.total_training_steps=4", TINY_LORA]))
    assert report.ok, report.problems
    assert report.plan["training rows"] == "40"
    assert report.plan["steps an epoch"] == 2
    assert report.plan["steps in total"] == 4
    assert any(n.startswith("data.train_files: 40 rows rendered with veRL's dataset: longest ") for n in report.notes)


def test_preflight_reports_bad_rows(tmp_path, tiny_model_dir):
    good = chat(PROMPT, ANSWER)
    rows = [good] * 14 + [chat(PROMPT, "5, so \\boxed{5}"), chat(PROMPT, "<think>\nadd\n</think>\n\nfive"), chat(PROMPT)]
    rows.append(chat(PROMPT, "<think>\n" + "We add them again. " * 40 + "\n</think>\n\n\\boxed{5}"))
    write_sft_parquet(tmp_path / "openr1_sft/train.parquet", rows)
    write_sft_parquet(tmp_path / "openr1_sft/val.parquet", [good] * 4)
    report = run_sft_checks(_cfg(tmp_path, [f"model.path={tiny_model_dir}", "data.max_length=128", "trainer.total_training_steps=1"]))
    where = f"data.train_files: {tmp_path}/openr1_sft/train.parquet"
    assert f"{where}: 1 of 18 rows have an assistant turn without a complete <think>...</think> block followed by an answer (rows 14)" in report.problems
    assert f"{where}: 1 of 18 rows have an assistant turn without a \\boxed{{...}} answer (rows 15)" in report.problems
    assert f"{where}: 1 of 18 rows do not end with an assistant turn (rows 16)" in report.problems
    over = [p for p in report.problems if "exceed data.max_length=128" in p]
    assert len(over) == 1 and over[0].startswith("data.train_files: 1 rows exceed data.max_length=128 (row 17: ")
    assert "rebuild with `justrl-prep openr1-sft --max-tokens 128`" in over[0]


def test_preflight_reports_batches_and_steps(data_root, tiny_model_dir):
    report = run_sft_checks(_cfg(data_root, [f"model.path={tiny_model_dir}", "data.train_batch_size=12"]))
    assert ("data.train_batch_size=12 does not split over 8 data-parallel GPUs; veRL would train on 8 a step; "
            "use a multiple of 8") in report.problems
    report = run_sft_checks(_cfg(data_root, [f"model.path={tiny_model_dir}", "data.micro_batch_size_per_gpu=3"]))
    assert any(p.startswith("data.micro_batch_size_per_gpu=3 does not divide the 2 sequences each GPU gets") for p in report.problems)
    report = run_sft_checks(_cfg(data_root, [f"model.path={tiny_model_dir}"]))
    assert ("trainer.total_epochs=2 ends the run after 4 steps (2 an epoch), before trainer.total_training_steps=800 "
            "and its final checkpoint; set trainer.total_epochs=400") in report.problems


def test_preflight_reports_missing_and_wrong_files(tmp_path, tiny_model_dir):
    report = run_sft_checks(_cfg(tmp_path, [f"model.path={tiny_model_dir}"]))
    assert (f"data.train_files: {tmp_path}/openr1_sft/train.parquet does not exist; create it with "
            f"`justrl-prep openr1-sft --out {tmp_path}/openr1_sft --tokenizer {tiny_model_dir}`") in report.problems
    pq.write_table(pa.table({"prompt": ["x"]}), tmp_path / "rl.parquet")
    report = run_sft_checks(_cfg(tmp_path, [f"model.path={tiny_model_dir}", f"data.train_files={tmp_path}/rl.parquet", "data.val_files=null"]))
    assert any(p.startswith(f"data.train_files: {tmp_path}/rl.parquet has no readable 'messages' column") for p in report.problems)
