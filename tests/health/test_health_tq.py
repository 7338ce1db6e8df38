"""The per-step `justrl/` metrics read back from a real TransferQueue, written by veRL's own rollout path.

Everything between the model and the metrics is veRL 0.9.1's real code: the trainer registers the
prompts, `AgentLoopWorkerTQ` runs the single-turn agent loop, scores each response on a real Ray
`RewardLoopWorker` (our reward adapter through veRL's dapo manager) and writes fields and tags into
TransferQueue; the sync `ReplayBuffer` samples the batch, `upsample_batch_to_divisible_size` adds
padding rows, `_compute_advantage` writes advantages, and `JustRLTrainer._compute_metrics` (veRL's
method, then ours) reads it all back. The only stand-in is the vLLM server (no GPU here): it answers
each prompt with scripted texts.

TransferQueue on a 2-core machine: `tq.init` creates a controller actor and
`num_data_storage_units` storage actors, each asking Ray for 1 CPU and pinned to this node, then
waits for every storage unit's ZMQ address. With veRL's default 8 units (or TQ's default 2) a
2-CPU Ray node cannot place them all, so the wait never ends; one unit fits beside the controller.
"""

from __future__ import annotations

import asyncio
import uuid

import numpy as np
import pytest
import ray
from transformers import AutoTokenizer

from justrl.config import compose_recipe
from reward_fns.adapter import compute_score

pytestmark = pytest.mark.slow

CAP = 48  # max_response_length: the looping response is cut here
N = 4  # rollout.n of the smoke recipe
THINK_5 = "<think>2+3=5</think> The answer is \\boxed{5}."
LOOP = "Let me check again. " * 60
# (data_source, question, ground truth, the n responses, per response: (correct, think block, boxed))
PROMPTS = [
    ("math_dapo", "What is 2+3?", "5",
     [THINK_5, "The answer is \\boxed{5}.", "The answer is \\boxed{4}.", LOOP],
     [(1, 1, 1), (1, 0, 1), (0, 0, 1), (0, 0, 0)]),
    ("math_dapo", "What is 1+1?", "2",
     ["<think>1+1=2</think> \\boxed{2}"] * N,
     [(1, 1, 1)] * N),
    ("AIME24", "What is 3*3?", "9",
     ["<think>3*3=9</think> So \\boxed{9}.", "no idea", "I give up", "\\boxed{10}"],
     [(1, 1, 1), (0, 0, 0), (0, 0, 0), (0, 0, 1)]),
]


class ScriptedServer:
    """Stands in for veRL's LLM server client: each prompt gets its scripted responses in turn."""

    def __init__(self, tokenizer, replies: dict[str, list[str]]):
        self.tokenizer = tokenizer
        self.replies = {question: list(texts) for question, texts in replies.items()}

    async def generate(self, request_id, *, prompt_ids, sampling_params, **kwargs):
        from verl.workers.rollout.replica import TokenOutput

        prompt = self.tokenizer.decode(prompt_ids)
        (question,) = [q for q in self.replies if q in prompt]
        ids = self.tokenizer(self.replies[question].pop(0), add_special_tokens=False)["input_ids"]
        # The real client reports the weight version that generated the tokens (veRL's llm_server.py).
        versions = {"global_steps": 1, "min_global_steps": 1, "max_global_steps": 1}
        return TokenOutput(token_ids=ids + [self.tokenizer.eos_token_id], stop_reason="completed", extra_fields=versions)


@pytest.fixture(scope="module")
def running_tq(tmp_path_factory, tiny_model_dir):
    """Real Ray (2 CPUs) and TransferQueue from the recipe's own `transfer_queue` block, one storage unit."""
    import transfer_queue as tq

    cfg = compose_recipe(
        "smoke_1gpu",
        [
            "reward=justtinker",
            "health=justtinker",
            f"actor_rollout_ref.model.path={tiny_model_dir}",
            f"data.max_response_length={CAP}",
            f"trainer.default_local_dir={tmp_path_factory.mktemp('ckpt')}",
            "transfer_queue.backend.SimpleStorage.num_data_storage_units=1",
        ],
    )
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        tq.init(cfg.transfer_queue)
        yield cfg
    finally:
        tq.close()
        ray.shutdown()


def _rollout(cfg, tokenizer) -> list[str]:
    """One training step's rollout through veRL's TQ agent loop worker; returns the prompt uids."""
    import transfer_queue as tq
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker
    from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopWorkerTQ
    from verl.utils import tensordict_utils as tu

    uids = [str(uuid.uuid4()) for _ in PROMPTS]
    batch = tu.get_tensordict(
        {
            "raw_prompt": np.array([[{"role": "user", "content": q}] for _, q, *_ in PROMPTS] + [None], dtype=object)[:-1],
            "data_source": np.array([p[0] for p in PROMPTS], dtype=object),
            "reward_model": np.array([{"ground_truth": p[2], "style": "rule"} for p in PROMPTS], dtype=object),
            "extra_info": np.array([{"index": i} for i in range(len(PROMPTS))], dtype=object),
            "index": np.arange(len(PROMPTS)),
            "uid": np.array(uids, dtype=object),
        }
    )
    tu.assign_non_tensor_data(batch, "global_steps", 1)
    # What the sync trainer's `_submit_batch_to_rollout` registers before dispatching.
    tq.kv_batch_put(keys=uids, partition_id="train", tags=[{"is_prompt": True, "status": "pending", "global_steps": 1}] * len(uids))

    reward_worker = ray.remote(RewardLoopWorker).options(num_cpus=0).remote(cfg)
    server = ScriptedServer(tokenizer, {q: texts for _, q, _, texts, _ in PROMPTS})
    worker = AgentLoopWorkerTQ.__ray_actor_class__(cfg, server, None, [reward_worker])

    async def generate():
        await worker.generate_sequences(batch)
        while worker.background_tasks:
            await asyncio.gather(*list(worker.background_tasks))

    asyncio.run(generate())
    return uids


def _expected(cfg, tokenizer) -> tuple[dict[str, float], list[dict]]:
    """The step's metrics computed straight from the scripted texts, without veRL or TransferQueue."""
    kwargs = dict(cfg.reward.custom_reward_function.reward_kwargs)
    lengths, infos, sources, groups = [], [], [], []
    for source, _, truth, texts, _ in PROMPTS:
        for text in texts:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            lengths.append(min(len(ids), CAP))
            seen = tokenizer.decode(ids[:CAP], skip_special_tokens=True)
            infos.append(compute_score(source, seen, truth, **kwargs))
            sources.append(source)
        groups.append(sorted(info["score"] for info in infos[-N:]))
    truth_table = [row for *_, rows in PROMPTS for row in rows]
    lengths = np.asarray(lengths, dtype=float)
    redundancy = np.asarray([i["redundancy"] for i in infos])

    def col(key: str) -> float:
        return float(np.mean([info[key] for info in infos]))

    expected = {
        "justrl/accuracy": float(np.mean([r[0] for r in truth_table])),
        "justrl/accuracy/math_dapo": float(np.mean([r[0] for r, s in zip(truth_table, sources) if s == "math_dapo"])),
        "justrl/accuracy/AIME24": float(np.mean([r[0] for r, s in zip(truth_table, sources) if s == "AIME24"])),
        "justrl/thinking_rate": float(np.mean([r[1] for r in truth_table])),
        "justrl/boxed_rate": float(np.mean([r[2] for r in truth_table])),
        "justrl/reward/mean": col("score"),
        "justrl/response_length/mean": float(lengths.mean()),
        "justrl/response_length/p50": float(np.median(lengths)),
        "justrl/response_length/p95": float(np.percentile(lengths, 95)),
        "justrl/response_length/max": float(lengths.max()),
        "justrl/response_length/clip_ratio": float(np.mean(lengths >= CAP)),
        "justrl/response_length/cap": float(CAP),
        "justrl/redundancy/mean": float(redundancy.mean()),
        "justrl/redundancy/p95": float(np.percentile(redundancy, 95)),
        "justrl/chunk_similarity/mean": col("chunk_similarity"),
        "justrl/format_penalty/mean": col("format_penalty"),
        "justrl/redundancy_penalty/mean": col("redundancy_penalty"),
        "justrl/zero_signal_groups": float(np.mean([g[0] == g[-1] for g in groups])),
    }
    return expected, infos


def test_step_metrics_read_back_from_transfer_queue(running_tq):
    from verl.trainer.ppo.padding_utils import upsample_batch_to_divisible_size

    from justrl.trainer import JustRLTrainer

    cfg = running_tq
    tokenizer = AutoTokenizer.from_pretrained(cfg.actor_rollout_ref.model.path)
    expected, infos = _expected(cfg, tokenizer)
    # The reference itself matches the hand-written truth table (correct, think block, boxed).
    truth_table = [row for *_, rows in PROMPTS for row in rows]
    assert [(i["acc"], i["has_think"], i["boxed"]) for i in infos] == truth_table
    assert expected["justrl/accuracy/math_dapo"] == 0.75 and expected["justrl/accuracy/AIME24"] == 0.25
    assert expected["justrl/zero_signal_groups"] == pytest.approx(1 / 3)
    assert expected["justrl/response_length/clip_ratio"] == pytest.approx(1 / 12)
    assert expected["justrl/format_penalty/mean"] > 0  # the correct answer without a think block
    assert max(i["redundancy"] for i in infos) == infos[3]["redundancy"] > 0  # the loop is the most repetitive

    uids = _rollout(cfg, tokenizer)
    trainer = JustRLTrainer(cfg)
    trainer.global_steps = 1
    trainer._init_resource_pool_mgr()  # only the GPU count veRL's throughput metrics divide by
    batch, _ = trainer._build_replay_buffer().sample(global_steps=1, partition_id="train", batch_size=len(PROMPTS))
    assert sorted({key.split("_")[0] for key in batch.keys}) == sorted(uids) and len(batch) == len(PROMPTS) * N
    batch = upsample_batch_to_divisible_size(batch, 16, tokenizer.eos_token_id)  # 4 padding rows, as dp balancing adds
    assert sum(tag.get("is_padding", False) for tag in batch.tags) == 4

    metrics: dict = {}
    trainer._compute_advantage(batch, metrics)
    trainer._compute_metrics(batch, metrics, {"step": 1.0, "gen": 0.5}, 1, 0)

    ours = {k: v for k, v in metrics.items() if k in expected}
    assert ours == pytest.approx(expected, abs=1e-9)
    # veRL's own metrics over the same non-padding rows agree with ours.
    assert metrics["response_length/mean"] == pytest.approx(expected["justrl/response_length/mean"])
    assert metrics["response_length/clip_ratio"] == pytest.approx(expected["justrl/response_length/clip_ratio"])
    assert metrics["critic/score/mean"] == pytest.approx(expected["justrl/reward/mean"])
    assert metrics["justrl/health/stopped"] == 0.0
