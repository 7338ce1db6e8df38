"""vLLM generation, data parallel over every GPU of the node or Ray cluster.

Data parallelism is one Ray actor per model replica (`tensor_parallel_size` GPUs each), each
owning an ordinary offline `vllm.LLM`. We use Ray actors rather than vLLM's own data-parallel
mode because the offline `LLM` class runs one replica per process, Ray already spans the
nodes of a Slurm allocation (the same cluster veRL trains on), and an idle-actor queue gives
dynamic load balancing: whichever GPU finishes a shard takes the next one, so a shard of
long AIME responses does not stall the other GPUs.

Each request asks for all N samples of a prompt at once (`SamplingParams(n=N)`), so vLLM
prefills the prompt once and its prefix cache serves the N continuations.
vLLM is imported only inside the actors: this module loads on a CPU-only machine.
"""

from __future__ import annotations

import importlib.util
import os
import queue
from dataclasses import asdict
from typing import Any

from justrl.eval.engine import Completion, EngineUnavailable, SamplingSpec


class _Replica:
    """One vLLM engine on the GPUs Ray assigned to this actor."""

    def __init__(self, model: str, seed: int, llm_kwargs: dict[str, Any]) -> None:
        from vllm import LLM

        self.llm = LLM(model=model, seed=seed, **llm_kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.max_model_len = self.llm.llm_engine.model_config.max_model_len

    def ready(self) -> bool:
        return True

    def generate(self, prompts: list[str], n: int, sampling: dict[str, Any]) -> list[list[dict[str, Any]]]:
        """Prompts arrive chat-templated; tokenizing without special tokens avoids a second BOS."""
        from vllm import SamplingParams

        token_ids = [self.tokenizer(p, add_special_tokens=False).input_ids for p in prompts]
        params = [
            SamplingParams(
                n=n,
                temperature=sampling["temperature"],
                top_p=sampling["top_p"],
                max_tokens=min(sampling["max_new_tokens"], self.max_model_len - len(ids)),
            )
            for ids in token_ids
        ]
        outputs = self.llm.generate([{"prompt_token_ids": ids} for ids in token_ids], params, use_tqdm=False)
        return [
            [
                {"text": o.text, "num_tokens": len(o.token_ids), "finish_reason": o.finish_reason or "stop"}
                for o in out.outputs
            ]
            for out in outputs
        ]


def _gpus_in_cluster() -> int:
    import ray

    if not ray.is_initialized():
        # Joins the running cluster when there is one (RAY_ADDRESS, `ray start` on this node);
        # otherwise starts a local one with this node's GPUs.
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False)
    return int(ray.cluster_resources().get("GPU", 0))


class VLLMEngine:
    """GenerationEngine over `data_parallel_size` vLLM replicas; `concurrency` = replicas."""

    def __init__(
        self,
        model: str,
        seed: int = 0,
        tensor_parallel_size: int = 1,
        data_parallel_size: int | None = None,
        **llm_kwargs: Any,
    ) -> None:
        if importlib.util.find_spec("vllm") is None:
            raise EngineUnavailable(vllm_missing_message())
        import ray

        gpus = _gpus_in_cluster()
        if gpus < tensor_parallel_size:
            raise EngineUnavailable(
                f"Ray sees {gpus} GPUs but engine.tensor_parallel_size={tensor_parallel_size}; run on a GPU node"
            )
        replicas = data_parallel_size or gpus // tensor_parallel_size
        if replicas * tensor_parallel_size > gpus:
            raise EngineUnavailable(
                f"engine.data_parallel_size={replicas} x tensor_parallel_size={tensor_parallel_size} "
                f"needs more than the {gpus} GPUs Ray sees"
            )
        if tensor_parallel_size > 1:
            llm_kwargs.setdefault("distributed_executor_backend", "mp")
        actor = ray.remote(num_gpus=tensor_parallel_size)(_Replica)
        # Distinct seeds per replica: identical seeds would sample identical continuations for
        # a prompt that happens to be sent twice (resume after a partial shard).
        self._actors = [
            actor.remote(model, seed + rank, {"tensor_parallel_size": tensor_parallel_size, **llm_kwargs})
            for rank in range(replicas)
        ]
        ray.get([a.ready.remote() for a in self._actors])
        self._idle: queue.Queue = queue.Queue()
        for a in self._actors:
            self._idle.put(a)
        self.concurrency = replicas

    def generate(self, prompts: list[str], n: int, sampling: SamplingSpec) -> list[list[Completion]]:
        import ray

        actor = self._idle.get()
        try:
            raw = ray.get(actor.generate.remote(prompts, n, asdict(sampling)))
        finally:
            self._idle.put(actor)
        return [[Completion(**c) for c in outs] for outs in raw]

    def close(self) -> None:
        import ray

        for a in self._actors:
            ray.kill(a)
        self._actors = []


def vllm_missing_message() -> str:
    return (
        "vLLM is not installed; generation needs a GPU node with `pip install -e '.[gpu]'` "
        "(grading runs on CPU: justrl-grade DIR; engine.kind=transformers generates slowly on CPU)"
    )
