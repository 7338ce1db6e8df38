"""The adapter, driven through veRL 0.9.1's own reward managers with our YAML config groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from transformers import AutoTokenizer
from verl import DataProto
from verl.trainer.ppo.reward import load_reward_manager

import verl
from reward_fns.adapter import compute_score
from reward_fns.spec import RewardSettingError

REPO = Path(__file__).resolve().parents[2]
VERL_REWARD_DEFAULTS = Path(verl.__file__).parent / "trainer" / "config" / "reward" / "reward.yaml"
THINK_BOXED = "<think>We factor (x-2)(x-3)=0 so x=2 or x=3.</think>\n\nThe answer is \\boxed{5}."


def _group(*names: str):
    """veRL's reward defaults with our group files merged on top, as Hydra composes them."""
    merged = OmegaConf.load(VERL_REWARD_DEFAULTS)
    for name in names:
        layer = OmegaConf.load(REPO / "configs" / "reward" / f"{name}.yaml")
        layer.pop("defaults", None)
        merged = OmegaConf.merge(merged, layer)
    return OmegaConf.create({"reward": merged})


def _batch(tokenizer, rows: list[tuple[str, str, str]]) -> DataProto:
    """Left-padded prompts and right-padded responses, as veRL's rollout hands them over."""
    prompt_ids = tokenizer("Find the sum of all possible x.")["input_ids"]
    encoded = [tokenizer(response)["input_ids"] for _, response, _ in rows]
    width = max(map(len, encoded))
    pad = tokenizer.pad_token_id
    responses = torch.tensor([ids + [pad] * (width - len(ids)) for ids in encoded])
    prompts = torch.tensor([prompt_ids] * len(rows))
    mask = torch.cat(
        [torch.ones_like(prompts), torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in encoded])], dim=1
    )
    return DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": mask},
        non_tensors={
            "data_source": np.array([source for source, _, _ in rows], dtype=object),
            "reward_model": np.array([{"ground_truth": gt, "style": "rule"} for _, _, gt in rows], dtype=object),
            "extra_info": np.array([{} for _ in rows], dtype=object),
        },
    )


def _run(config, tokenizer, batch: DataProto) -> list[dict]:
    manager = load_reward_manager(config, tokenizer)

    async def score_all():
        return [await manager.run_single(batch[i : i + 1]) for i in range(len(batch))]

    # The manager runs its work on the event loop it captured when it was built.
    return manager.loop.run_until_complete(score_all())


@pytest.fixture(scope="module")
def tokenizer(tiny_tokenizer_dir):
    return AutoTokenizer.from_pretrained(tiny_tokenizer_dir)


@pytest.mark.parametrize("manager", ["naive", "dapo", "justrl"])
def test_justrl_group_through_verl_managers(tokenizer, manager):
    config = _group("justrl")
    if manager != "justrl":
        config.reward.reward_manager = {"source": "register", "name": manager}
    rows = [
        ("math_dapo", "so x = 2 or 3, and the sum is \\boxed{5}", "5"),
        ("math_dapo", "so the sum is \\boxed{5.0}", "5"),  # strict box: exact string only
        ("AIME24", "so the sum is \\boxed{5.0}", "\\boxed{5}"),  # hybrid: math-verify accepts 5.0
        ("MATH-500", "Answer: 1/2", "\\frac{1}{2}"),
        ("AMC23", "no answer at all", "5"),
    ]
    results = _run(config, tokenizer, _batch(tokenizer, rows))
    assert [r["reward_score"] for r in results] == [1.0, -1.0, 1.0, 1.0, -1.0]
    first = results[0]["reward_extra_info"]
    assert (first["acc"], first["pred"], first["boxed"], first["redundancy_penalty"]) == (1.0, "5", 1.0, 0.0)
    assert results[1]["reward_extra_info"]["reason"] == "boxed answer differs"
    assert results[4]["reward_extra_info"]["pred"] == ""


def test_justtinker_group_format_and_redundancy(tokenizer):
    config = _group("justrl", "justtinker")
    kwargs = config.reward.custom_reward_function.reward_kwargs
    fmt, red = kwargs.terms.format, kwargs.terms.redundancy
    assert (kwargs.correct_score, kwargs.incorrect_score, fmt.weight) == (1.0, 0.0, 0.1)
    assert (red.weight, red.threshold, red.method) == (0.3, 0.3, "justtinker")
    assert (kwargs.training_verifier, kwargs.verifier) == ("justtinker", "justtinker")
    assert (fmt.think_check, kwargs.terms.overlong.weight) == ("closing_tag", 0.0)
    loop = "\\boxed{5} " * 400 + "The answer is \\boxed{5}."
    rows = [
        ("math_dapo", "We factor (x-2)(x-3)=0 so x=2 or x=3, and the sum is \\boxed{5}", "5"),
        ("math_dapo", loop, "5"),
        ("math_dapo", "The answer is \\boxed{4}", "5"),
        ("math_dapo", THINK_BOXED, "5"),
    ]
    results = _run(config, tokenizer, _batch(tokenizer, rows))
    short, looping, wrong, thinking = (r["reward_extra_info"] for r in results)
    # <think> is an ordinary token (as in Qwen3), so it survives the manager's decoding: no penalty.
    assert (results[3]["reward_score"], thinking["has_think"], thinking["format_penalty"]) == (1.0, 1.0, 0.0)
    assert results[0]["reward_score"] == pytest.approx(0.9)
    assert short["format_penalty"] == 0.1
    assert looping["redundancy"] > 0.9
    expected = 1.0 - 0.1 - (looping["redundancy"] - 0.3) / 0.7 * 0.3
    assert results[1]["reward_score"] == pytest.approx(expected)
    assert (results[2]["reward_score"], wrong["format_penalty"], wrong["redundancy_penalty"]) == (0.0, 0.0, 0.0)


def _terms(**weights_and_options: dict) -> dict:
    return {"terms": weights_and_options}


def test_think_block_keeps_full_reward():
    kwargs = {"incorrect_score": 0.0, **_terms(format={"weight": 0.1}, redundancy={"weight": 0.3})}
    result = compute_score("math_dapo", THINK_BOXED, "5", **kwargs)
    assert (result["score"], result["has_think"], result["format_penalty"]) == (1.0, 1.0, 0.0)


@pytest.mark.parametrize(
    ("solution", "ground_truth", "reason"),
    [
        (None, "5", "response is not a string (got NoneType)"),
        (12345, "5", "response is not a string (got int)"),
        ("", "5", "response is empty"),
        ("\\boxed{5}", "", "ground truth is empty"),
        ("\\boxed{5}", None, "ground truth is not a string (got NoneType)"),
        ("\xff\xfe\x00\x01" * 100, "5", "response looks binary (control or undecodable characters)"),
        ("x" * 600_000 + "\\boxed{5}", "5", "response too long (600009 characters, at most 500000)"),
    ],
)
@pytest.mark.parametrize("source", ["math_dapo", "AIME25"])
def test_bad_input_scores_incorrect_with_reason(source, solution, ground_truth, reason):
    result = compute_score(source, solution, ground_truth, None, incorrect_score=-1.0)
    assert (result["score"], result["acc"], result["reason"]) == (-1.0, 0.0, reason)


def test_numeric_ground_truth():
    assert compute_score("HMMT25", "\\boxed{103}", 103)["acc"] == 1.0


@pytest.mark.parametrize(
    ("option", "value", "accepted"),
    [
        ("verifier", "nope", "dapo, dapo_strict_box, math_verify, hybrid, justtinker"),
        ("training_verifier", "strict", "dapo, dapo_strict_box, math_verify, hybrid, justtinker"),
        ("terms.format.think_check", "closing", "closing_tag, single_block"),
        ("terms.redundancy.method", "zlib", "default, justtinker"),
    ],
)
def test_bad_option_value_stops_with_one_line(option, value, accepted):
    # A bad setting would grade every response of the run wrong: it stops the first call instead.
    *where, name = option.split(".")
    kwargs = {name: value} if not where else _terms(**{where[1]: {"weight": 0.1, name: value}})
    with pytest.raises(RewardSettingError) as error:
        compute_score("HMMT25", "\\boxed{103}", "103", **kwargs)
    assert str(error.value).startswith(f"bad reward setting: {option}={value!r}: expected one of {accepted}")
    assert "\n" not in str(error.value)


def test_correct_answer_never_scores_below_incorrect():
    # JustTinker floors a penalised correct answer at the incorrect reward (max(0, ...)).
    loop = "\\boxed{5} " * 400
    kwargs = {"incorrect_score": 0.0, **_terms(format={"weight": 0.5}, redundancy={"weight": 1.0, "method": "justtinker"})}
    result = compute_score("HMMT25", loop, "5", **kwargs)
    assert result["format_penalty"] + result["redundancy_penalty"] > 1.0
    assert (result["acc"], result["score"]) == (1.0, 0.0)


def test_training_verifier_is_configurable():
    # JustRL's strict box rejects 5.0 on training data; JustTinker's verifier accepts it.
    assert compute_score("math_dapo", "\\boxed{5.0}", "5")["acc"] == 0.0
    assert compute_score("math_dapo", "\\boxed{5.0}", "5", training_verifier="justtinker")["acc"] == 1.0


@pytest.mark.parametrize(
    ("text", "closing_tag", "single_block"),
    [
        ("<think>work</think>\n\\boxed{5}", True, True),
        ("work</think>\n\\boxed{5}", True, False),
        ("<think>a</think><think>b</think>\\boxed{5}", True, False),
        ("<think></think>\\boxed{5}", True, False),
        ("\\boxed{5}", False, False),
    ],
)
def test_think_checks(text, closing_tag, single_block):
    for check, expected in (("closing_tag", closing_tag), ("single_block", single_block)):
        kwargs = {"incorrect_score": 0.0, **_terms(format={"weight": 0.1, "think_check": check})}
        result = compute_score("HMMT25", text, "5", **kwargs)
        assert (result["has_think"], result["format_penalty"]) == (float(expected), 0.0 if expected else 0.1)


def test_training_source_list_is_configurable():
    # With a custom training list, math_dapo is a benchmark-like source: hybrid accepts 5.0.
    assert compute_score("math_dapo", "\\boxed{5.0}", "5")["acc"] == 0.0
    assert compute_score("math_dapo", "\\boxed{5.0}", "5", training_sources=["my_train"])["acc"] == 1.0



def test_justrl_manager_tells_the_overlong_term_the_token_count(tokenizer):
    # veRL's managers pass the reward function text only; ours adds the response's tokens.
    config = _group("justrl")
    response = "so the sum is \\boxed{5}"
    tokens = len(tokenizer(response)["input_ids"])
    config.data = {"max_response_length": tokens + 2}  # 4-token buffer: 2 tokens into it
    config.reward.custom_reward_function.reward_kwargs.terms.overlong = {"weight": 1.0, "buffer_len": 4}
    (result,) = _run(config, tokenizer, _batch(tokenizer, [("math_dapo", response, "5")]))
    assert (result["reward_score"], result["reward_extra_info"]["overlong_tokens"]) == (0.5, 2.0)
