"""A veRL rollout backend that generates with transformers on a CPU: `rollout.name=justrl_cpu`.

veRL's v1 trainer generates only through server-mode rollout replicas (vLLM, SGLang, TRT-LLM
servers that the agent loop calls token-in, token-out). This module is the smallest such backend
that runs on a CPU:

- `CPUGenerationServer`, a Ray actor that holds a Hugging Face copy of the policy and answers
  `generate(prompt_ids, sampling_params)`. Requests that arrive together (the agent loop sends a
  step's prompts concurrently) are batched into one left-padded `model.generate`, grouped by
  sampling parameters, and return token ids and, when asked, the sampled tokens' log-probs.
- `CPUReplica`, the `RolloutReplica` that starts one server per replica on its workers' node
  (hybrid mode: the replica shares the FSDP workers' process group, as vLLM's does).
- `CPUServerAdapter`, the `BaseRollout` inside each FSDP worker that receives the trained weights
  after every update: every rank walks veRL's weight generator (gathering a full tensor is a
  collective), the replica's first rank sends the state dict to its server.

LoRA (`actor_rollout_ref.model.lora_rank > 0`) takes veRL's own adapter sync, as its vLLM rollout
does: the frozen base once (PEFT's `base_layer` names), then only the adapter after each update;
the server keeps base + adapter unmerged (a PEFT model), so it computes exactly what the actor
computes. With veRL's `model.lora.merge=true` the actor merges first and the server receives plain
weights.

Registered under one name in both of veRL's rollout registries by `register()`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import ray
import torch
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutMode, RolloutReplica, TokenOutput

from justrl.cpu.threads import compute_on_share_of_cores

ROLLOUT_NAME = "justrl_cpu"
SERVER_PREFIX = "justrl_cpu_server"
# How long a batch waits for the rest of a step's concurrent requests before it starts.
BATCH_WINDOW_S = 0.02


def server_name(replica_rank: int) -> str:
    return f"{SERVER_PREFIX}_{replica_rank}"


@dataclass(frozen=True)
class Sampling:
    """The sampling parameters a batch shares (the agent loop's dict, normalised)."""

    temperature: float
    top_p: float
    top_k: int
    max_tokens: int
    logprobs: bool

    @classmethod
    def from_request(cls, params: dict[str, Any], max_tokens: int) -> Sampling:
        return cls(
            temperature=float(params.get("temperature", 1.0)),
            top_p=float(params.get("top_p", 1.0)),
            top_k=int(params.get("top_k", -1) or -1),
            max_tokens=max_tokens,
            logprobs=bool(params.get("logprobs", False)),
        )


@dataclass
class _Request:
    prompt_ids: list[int]
    sampling: Sampling
    done: asyncio.Future = field(repr=False)


def generate_batch(model: Any, prompts: list[list[int]], sampling: Sampling, pad_id: int, eos_ids: set[int]) -> list[tuple[list[int], list[float] | None]]:
    """One left-padded `model.generate` for prompts that share sampling parameters.

    Each response is cut after its first end-of-sequence token (kept, as vLLM returns it). The
    log-probs are those of the distribution sampled from (logits over the temperature), which is
    what veRL's actor computes for the same tokens.
    """
    width = max(len(p) for p in prompts)
    input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        input_ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        attention[row, width - len(prompt) :] = 1
    greedy = sampling.temperature <= 0
    kwargs: dict[str, Any] = {"do_sample": not greedy}
    if not greedy:
        kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k if sampling.top_k > 0 else 0)
    with torch.no_grad():
        out = model.generate(
            input_ids=input_ids,
            attention_mask=attention,
            max_new_tokens=sampling.max_tokens,
            min_new_tokens=1,
            eos_token_id=sorted(eos_ids),
            pad_token_id=pad_id,
            return_dict_in_generate=True,
            output_logits=sampling.logprobs,
            **kwargs,
        )
    new_tokens = out.sequences[:, width:]
    logprobs = None
    if sampling.logprobs:
        logits = torch.stack(out.logits, dim=1).float()
        if not greedy:
            logits = logits / sampling.temperature
        logprobs = torch.log_softmax(logits, dim=-1).gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1)
    results = []
    for row in range(len(prompts)):
        tokens = new_tokens[row].tolist()
        end = next((i + 1 for i, t in enumerate(tokens) if t in eos_ids), len(tokens))
        results.append((tokens[:end], logprobs[row, :end].tolist() if logprobs is not None else None))
    return results


class CPUGenerationServer:
    """The replica's server: a transformers copy of the policy behind veRL's server interface."""

    def __init__(self, config: Any, model_config: Any, replica_rank: int, replicas_on_node: int = 1) -> None:
        from transformers import AutoModelForCausalLM, GenerationConfig

        from verl.utils.config import omega_conf_to_dataclass
        from verl.utils.torch_dtypes import PrecisionType
        from verl.workers.config import HFModelConfig

        compute_on_share_of_cores(replicas_on_node)
        self.config = config
        self.model_config = omega_conf_to_dataclass(model_config, dataclass_type=HFModelConfig)
        self.replica_rank = replica_rank
        # As veRL seeds each vLLM replica's sampler: rollout.seed + replica rank.
        torch.manual_seed(config.seed + replica_rank)
        # veRL's `rollout.dtype`: cluster=cpu sets float32, the actor's compute dtype there, so the
        # rollout's log-probs match the actor's; a recipe that has the actor compute in bf16 sets both.
        self.model = AutoModelForCausalLM.from_pretrained(
            self.model_config.local_path,
            dtype=PrecisionType.to_dtype(config.dtype),
            attn_implementation=self.model_config.override_config.get("attn_implementation", "sdpa"),
            trust_remote_code=self.model_config.trust_remote_code,
        ).eval()
        tokenizer = self.model_config.tokenizer
        generation = GenerationConfig.from_model_config(self.model.config)
        eos = generation.eos_token_id if generation.eos_token_id is not None else tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])
        self.eos_ids.add(tokenizer.eos_token_id)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.global_steps: int | None = None
        self._pending: list[_Request] = []
        self._wake = asyncio.Event()
        self._model_lock = asyncio.Lock()
        self._loop_task: asyncio.Task | None = None

    def _max_tokens(self, prompt_ids: list[int], params: dict[str, Any]) -> int:
        """As veRL's vLLM server bounds it: asked-for tokens within the response and model length."""
        room = self.config.max_model_len - len(prompt_ids) if self.config.max_model_len else None
        asked = params.get("max_tokens", params.get("max_new_tokens"))
        if asked is None:
            asked = min(self.config.response_length, self.config.prompt_length + self.config.response_length - len(prompt_ids))
        if room is not None:
            if room < 1:
                raise ValueError(f"prompt of {len(prompt_ids)} tokens leaves no room within max_model_len={self.config.max_model_len}")
            asked = min(asked, room)
        return max(1, int(asked))

    async def generate(self, prompt_ids: list[int], sampling_params: dict[str, Any], request_id: str, **_: Any):
        prompt = [int(t) for t in prompt_ids]
        request = _Request(prompt, Sampling.from_request(sampling_params, self._max_tokens(prompt, sampling_params)), asyncio.get_running_loop().create_future())
        self._pending.append(request)
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._serve())
        self._wake.set()
        token_ids, log_probs = await request.done
        return TokenOutput(token_ids=token_ids, log_probs=log_probs, stop_reason="completed", extra_fields={"global_steps": self.global_steps})

    async def _serve(self) -> None:
        """Batch whatever arrived within the window; one batch at a time, never during a weight load."""
        while True:
            await self._wake.wait()
            await asyncio.sleep(BATCH_WINDOW_S)
            self._wake.clear()
            batch, self._pending = self._pending, []
            groups: dict[Sampling, list[_Request]] = {}
            for request in batch:
                groups.setdefault(request.sampling, []).append(request)
            for sampling, requests in groups.items():
                async with self._model_lock:
                    try:
                        results = await asyncio.to_thread(
                            generate_batch, self.model, [r.prompt_ids for r in requests], sampling, self.pad_id, self.eos_ids
                        )
                    except Exception as exc:  # every waiting request must hear about the failure
                        for r in requests:
                            r.done.set_exception(exc)
                        continue
                for request, result in zip(requests, results):
                    request.done.set_result(result)

    async def load_weights(self, state: dict[str, torch.Tensor], peft_config: dict | None = None, base_sync_done: bool = False) -> int:
        """Take the actor's weights as veRL's FSDP engine sends them; returns how many tensors were loaded.

        `peft_config` with `base_sync_done` marks a LoRA adapter (PEFT's state-dict names); anything
        else is base weights (HF names, or PEFT's `base_layer` names of a LoRA model's first sync).
        """
        async with self._model_lock:
            if peft_config is not None and base_sync_done:
                self._load_adapter(state, peft_config)
            else:
                self._load_base(state)
        return len(state)

    def _load_base(self, state: dict[str, torch.Tensor]) -> None:
        base = self.model.get_base_model() if hasattr(self.model, "peft_config") else self.model
        # A LoRA layer holds its frozen weight as `<module>.base_layer.weight`: match on the plain name.
        own = {name.replace(".base_layer", ""): name for name in base.state_dict() if "lora_" not in name}
        renamed = {own.get(name.replace(".base_layer", ""), name): tensor for name, tensor in state.items()}
        missing, unexpected = base.load_state_dict(renamed, strict=False)
        missing = [name for name in missing if "lora_" not in name]
        if base.config.tie_word_embeddings:
            missing = [name for name in missing if not name.startswith("lm_head.")]
        if missing or unexpected:
            raise ValueError(f"weight sync: unexpected {sorted(unexpected)[:5]}, missing {sorted(missing)[:5]}")

    def _load_adapter(self, state: dict[str, torch.Tensor], peft_config: dict) -> None:
        """The first adapter wraps the model in PEFT with the actor's LoraConfig; each later one replaces its weights."""
        from peft import get_peft_config, get_peft_model, set_peft_model_state_dict

        if not hasattr(self.model, "peft_config"):
            self.model = get_peft_model(self.model, get_peft_config(dict(peft_config))).eval()
        result = set_peft_model_state_dict(self.model, state)
        missing = [name for name in result.missing_keys if "lora_" in name]
        if result.unexpected_keys or missing:
            raise ValueError(f"weight sync: adapter unexpected {sorted(result.unexpected_keys)[:5]}, missing {sorted(missing)[:5]}")

    async def set_global_steps(self, global_steps: int) -> None:
        self.global_steps = global_steps

    # veRL's replica calls these around weight syncs and aborts; on a CPU there is nothing to free.
    async def wake_up(self, tags: list[str] | None = None) -> None: ...
    async def sleep(self) -> None: ...
    async def clear_kv_cache(self) -> None: ...
    async def release_kv_cache(self) -> None: ...
    async def resume_kv_cache(self) -> None: ...
    async def start_profile(self, **kwargs: Any) -> None: ...
    async def stop_profile(self) -> None: ...
    async def resume_generation(self) -> None: ...

    async def abort_all_requests(self, reject_request: bool = False, **_: Any) -> dict[str, Any]:
        return {"aborted_count": 0, "request_ids": []}


class CPUReplica(RolloutReplica):
    """One server per replica, on the node of the replica's first worker (hybrid mode only)."""

    async def launch_servers(self) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if self.rollout_mode != RolloutMode.HYBRID:
            raise ValueError(
                f"rollout.name={ROLLOUT_NAME} runs colocated with the actor (hybrid engine) only, "
                f"not in {self.rollout_mode.value} mode; set actor_rollout_ref.hybrid_engine=true"
            )
        node_id = await self.workers[0].__ray_call__.remote(lambda _: ray.get_runtime_context().get_node_id())
        server = (
            ray.remote(CPUGenerationServer)
            .options(
                name=server_name(self.replica_rank),
                num_cpus=0,
                max_concurrency=self.max_concurrency,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node_id, soft=False),
            )
            .remote(
                config=self.config,
                model_config=self.model_config,
                replica_rank=self.replica_rank,
                replicas_on_node=self.gpus_per_node // self.gpus_per_replica_node,
            )
        )
        self.servers = [server]
        self._server_handle = server
        self._server_address = server_name(self.replica_rank)


class CPUServerAdapter(BaseRollout):
    """Inside each FSDP worker: hands the trained weights to this replica's server."""

    def __init__(self, config: Any, model_config: Any, device_mesh: Any, replica_rank: int = -1) -> None:
        super().__init__(config, model_config, device_mesh)
        rank = int(os.environ["RANK"])
        world = self.config.tensor_model_parallel_size * self.config.data_parallel_size * self.config.pipeline_model_parallel_size
        self.replica_rank = rank // world if replica_rank == -1 else replica_rank
        self.is_leader_rank = rank % world == 0
        self._server = None

    async def update_weights(self, weights: Iterable[tuple[str, torch.Tensor]], **kwargs: Any) -> None:
        state = {}
        for name, tensor in weights:  # every rank: gathering a sharded tensor is a collective
            if self.is_leader_rank:
                state[name] = tensor.detach().to("cpu", torch.float32).clone()
        if not self.is_leader_rank:
            return
        if self._server is None:
            self._server = ray.get_actor(server_name(self.replica_rank))
        await self._server.load_weights.remote(state, peft_config=kwargs.get("peft_config"), base_sync_done=bool(kwargs.get("base_sync_done")))
        if kwargs.get("global_steps") is not None:
            await self._server.set_global_steps.remote(kwargs["global_steps"])

    async def resume(self, tags: list[str]) -> None:
        """Weights and cache stay in host memory."""

    async def release(self) -> None:
        """Weights and cache stay in host memory."""


def register() -> None:
    """Make `rollout.name=justrl_cpu` resolvable in this process.

    `RolloutReplicaRegistry` is veRL's public registry for replicas (looked up by the trainer);
    the worker-side adapter is looked up in `verl.workers.rollout.base._ROLLOUT_REGISTRY`, a
    module dict veRL 0.9.1 offers no function for (tests/trainer/test_cpu_backend.py fails loudly if
    that dict changes shape).
    """
    from verl.workers.rollout import base
    from verl.workers.rollout.replica import RolloutReplicaRegistry

    RolloutReplicaRegistry.register(ROLLOUT_NAME, lambda: CPUReplica)
    base._ROLLOUT_REGISTRY[(ROLLOUT_NAME, "async")] = f"{__name__}.CPUServerAdapter"


register()
