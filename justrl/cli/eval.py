"""justrl-eval model=PATH_OR_ID [benchmarks=...] [n=...] [out=DIR]: resumable generation.

Hydra's compose API rather than @hydra.main: the command needs no output directory or
logging setup of Hydra's, and every failure must become one line, not a traceback.
"""

from __future__ import annotations

import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from justrl.cli.usage import render_help, wants_help
from justrl.eval.benchmarks import EvalInputError, load_items, resolve_names, samples_per_problem
from justrl.eval.engine import EngineUnavailable, GenerationEngine, SamplingSpec
from justrl.eval.generate import BenchmarkJob, make_manifest, render_prompts, run_benchmarks, write_manifest
from justrl.eval.records import ResumeMismatch
from justrl.model_folder import model_folder_problem

ENGINES = ("vllm", "transformers")


def load_config(overrides: list[str], config_name: str = "default") -> DictConfig:
    """A config of configs/eval/ (default.yaml unless named) with that folder as its own config
    directory, so its `model` and `data_dir` keys are plain keys, not the training recipes'
    config groups of the same names."""
    config_dir = resources.files("justrl.configs").joinpath("eval")
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        return compose(config_name=config_name, overrides=overrides)


def _model_id(model: str) -> str:
    """Local directories by absolute path (a rerun from elsewhere resumes); hub ids as given."""
    problem = model_folder_problem("model", model)
    if problem:
        raise EvalInputError(problem)
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model


def load_tokenizer(model: str) -> Any:
    """The model's tokenizer (its chat template renders the prompts); a one-line error otherwise."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise EvalInputError(f"cannot load the tokenizer of model={model!r}: {str(exc).splitlines()[0]}") from exc


def build_engine(cfg: DictConfig, model: str) -> GenerationEngine:
    kind = cfg.engine.kind
    if kind == "vllm":
        from justrl.eval.vllm_engine import VLLMEngine

        return VLLMEngine(model, seed=cfg.sampling.seed, **OmegaConf.to_container(cfg.engine.vllm))
    from justrl.eval.transformers_engine import TransformersEngine

    return TransformersEngine(model, **OmegaConf.to_container(cfg.engine.transformers))


def _check_engine(kind: str) -> None:
    """Fail before loading data or tokenizers when generation cannot run here at all."""
    import importlib.util

    if kind not in ENGINES:
        raise EvalInputError(f"engine.kind={kind!r}; expected one of {', '.join(ENGINES)}")
    if kind == "vllm" and importlib.util.find_spec("vllm") is None:
        from justrl.eval.vllm_engine import vllm_missing_message

        raise EngineUnavailable(vllm_missing_message())


def _positive(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise EvalInputError(f"{name}={value!r}; expected a positive integer or null")


def _sampling(cfg: DictConfig) -> SamplingSpec:
    spec = SamplingSpec(**OmegaConf.to_container(cfg.sampling))
    if not isinstance(spec.temperature, (int, float)) or spec.temperature < 0:
        raise EvalInputError(f"sampling.temperature={spec.temperature!r}; expected a number >= 0")
    if not isinstance(spec.top_p, (int, float)) or not 0 < spec.top_p <= 1:
        raise EvalInputError(f"sampling.top_p={spec.top_p!r}; expected a number in (0, 1]")
    _positive("sampling.max_new_tokens", spec.max_new_tokens)
    return spec


def _with_adapter(model: str, adapter: str | None, out: Path) -> tuple[str, str]:
    """(the folder to generate with, the model's name in the manifest): base + a LoRA adapter (adapter=DIR,
    or the lora_adapter/ veRL's merger writes) is merged into out/merged_model first, for either engine."""
    from justrl.lora.merge import AdapterError, adapter_of, merge

    try:
        found = adapter_of(model, adapter)
    except AdapterError as exc:
        raise EvalInputError(str(exc)) from None
    if found is None:
        return model, model
    return str(merge(model, found, out / "merged_model")), f"{model} + adapter {found.resolve()}"


def run(cfg: DictConfig) -> Path:
    """Generate every requested benchmark into cfg.out; returns the output directory."""
    if OmegaConf.is_missing(cfg, "model") or not cfg.model:
        raise EvalInputError("model=PATH_OR_ID is required (a HF hub id or a local HF model directory)")
    for key in ("n", "limit"):
        _positive(key, cfg[key])
    _positive("engine.shard_sequences", cfg.engine.shard_sequences)
    names = resolve_names(OmegaConf.to_container(cfg.benchmarks) if OmegaConf.is_list(cfg.benchmarks) else cfg.benchmarks)
    sampling = _sampling(cfg)
    _check_engine(cfg.engine.kind)
    model = _model_id(str(cfg.model))
    out = Path(cfg.out or Path(cfg.results_dir) / Path(model.rstrip("/")).name)
    items = {name: load_items(name, cfg.data_dir, cfg.limit) for name in names}
    ns = {name: cfg.n or samples_per_problem(name) for name in names}
    model, label = _with_adapter(model, cfg.adapter, out)
    tokenizer = load_tokenizer(model)
    write_manifest(out, make_manifest(label, cfg.base_model, sampling, ns))
    engine = build_engine(cfg, model)
    jobs = [
        BenchmarkJob(name, items[name], render_prompts(tokenizer, items[name]), ns[name], out / f"{name}.jsonl")
        for name in names
    ]
    try:
        written = run_benchmarks(engine, jobs, sampling, cfg.engine.shard_sequences, progress=cfg.progress)
    finally:
        engine.close()
    for job in jobs:
        print(
            f"justrl-eval: {job.name}: {written[job.name]} problems generated, "
            f"{len(job.items) - written[job.name]} already done -> {job.path}"
        )
    print(f"justrl-eval: done; grade with: justrl-grade {out}")
    return out


def run_command(
    command: str,
    task: Callable[[DictConfig], object],
    load: Callable[[list[str]], DictConfig],
    argv: list[str] | None,
) -> int:
    """The one-line error contract shared by the Hydra-configured sampling commands."""
    overrides = sys.argv[1:] if argv is None else argv
    if wants_help(overrides):
        print(render_help(command))
        return 0
    try:
        task(load(overrides))
    except (EvalInputError, ResumeMismatch, EngineUnavailable) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    except (HydraException, OmegaConfBaseException) as exc:
        unknown = re.search(r"Could not override '([^']+)'", str(exc))
        why = f"unknown key '{unknown.group(1)}' (the keys are in `{command} --help`)" if unknown else str(exc).splitlines()[0]
        print(f"{command}: bad override in {' '.join(overrides)!r}: {why}", file=sys.stderr)
        return 2
    except OSError as exc:  # an unwritable or misplaced out=, a full disk
        out = next((o.split("=", 1)[1] for o in overrides if o.startswith("out=")), "the out= folder")
        print(f"{command}: {exc.strerror or exc}: {exc.filename or out}; check out= and free space", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command("justrl-eval", run, load_config, argv)


if __name__ == "__main__":
    sys.exit(main())
