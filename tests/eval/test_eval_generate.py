"""The generation loop and justrl-eval: sharding, resume after crashes, refusal to mix runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from data_prep.benchmarks import build_benchmarks
from eval_doubles import EngineCrash, ScriptedEngine
from justrl.cli.eval import main as eval_main
from justrl.cli.grade import main as grade_main
from justrl.eval.benchmarks import load_items, val_files
from justrl.eval.engine import EngineUnavailable, SamplingSpec
from justrl.eval.generate import (
    BenchmarkJob,
    make_manifest,
    prompts_per_shard,
    render_prompts,
    run_benchmarks,
    write_manifest,
)
from justrl.eval.records import ResumeMismatch, read_records

SAMPLING = SamplingSpec(temperature=0.7, top_p=0.9, max_new_tokens=31744, seed=0)
NINE = ["AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "OlympiadBench", "HMMT25", "BRUMO25", "CMIMC25"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, benchmarks_dir) -> Path:
    """Prepared benchmark files, built from the shipped copies by the real `justrl-prep` builder."""
    out = tmp_path_factory.mktemp("data")
    build_benchmarks(out / "benchmarks", benchmarks_dir, names=["AIME24", "AMC23"])
    return out


@pytest.fixture(scope="module")
def aime(data_dir):
    return load_items("AIME24", data_dir)


def engine_for(items, **kwargs) -> ScriptedEngine:
    """Even samples answer right, odd ones say 0."""
    truth = {item.problem: item.ground_truth for item in items}
    return ScriptedEngine(lambda prompt, j: truth[prompt] if j % 2 == 0 else "0", **kwargs)


def job(items, path, n=2) -> BenchmarkJob:
    return BenchmarkJob(path.stem, items, [i.problem for i in items], n, path)


def run(engine, items, path, n=2, shard=4) -> int:
    """One benchmark through the loop with `shard` prompts per shard; returns new problems."""
    return run_benchmarks(engine, [job(items, path, n)], SAMPLING, shard * n, progress=False)[path.stem]


def indices(path: Path) -> list[int]:
    return [r["index"] for r in read_records(path).records]


def test_prepared_files_are_read_with_suffix_and_bare_answer(aime):
    assert len(aime) == 30
    assert aime[0].ground_truth == "204"
    assert aime[0].problem.startswith("Every morning Aya goes for a $9$-kilometer-long walk")
    assert aime[0].problem.endswith("\n\nPlease reason step by step, and put your final answer within \\boxed{}.")


def test_records_hold_all_n_samples_of_each_problem(aime, tmp_path):
    path = tmp_path / "AIME24.jsonl"
    engine = engine_for(aime)
    assert run(engine, aime, path, n=4, shard=8) == 30
    assert [len(c) for c in engine.calls] == [8, 8, 8, 6]
    first = read_records(path).records[0]
    assert first["ground_truth"] == "204" and first["n"] == 4
    assert [r["text"] for r in first["responses"]][:2] == ["so the answer is \\boxed{204}", "so the answer is \\boxed{0}"]
    assert first["responses"][3] == {"text": "so the answer is \\boxed{0}", "num_tokens": 10, "finish_reason": "stop"}


def test_resume_after_crash_asks_only_for_missing_problems(aime, tmp_path):
    path = tmp_path / "AIME24.jsonl"
    with pytest.raises(EngineCrash):
        run(engine_for(aime, fail_on={aime[9].problem}), aime, path)
    assert indices(path) == list(range(8))  # shards 0-3 and 4-7 finished before the crash
    engine = engine_for(aime)
    assert run(engine, aime, path) == 22
    assert [p for call in engine.calls for p in call] == [i.problem for i in aime[8:]]
    assert sorted(indices(path)) == list(range(30)) and read_records(path).malformed == 0
    again = engine_for(aime)
    assert run(again, aime, path) == 0 and again.calls == []


def test_save_request_stops_new_shards_and_a_rerun_resumes(aime, tmp_path, monkeypatch, capsys):
    from justrl.loop_control import SAVE_REQUEST_ENV

    request = tmp_path / "SAVE_AND_EXIT"
    request.touch()
    monkeypatch.setenv(SAVE_REQUEST_ENV, str(request))
    path = tmp_path / "AIME24.jsonl"
    assert run(engine_for(aime), aime, path) == 4  # the shard in flight is finished and saved
    assert indices(path) == [0, 1, 2, 3]
    assert "stopped at the job's save request" in capsys.readouterr().err
    request.unlink()
    engine = engine_for(aime)
    assert run(engine, aime, path) == 26
    assert [p for call in engine.calls for p in call] == [i.problem for i in aime[4:]]


def test_shards_in_flight_are_saved_when_another_fails(aime, tmp_path):
    path = tmp_path / "AIME24.jsonl"
    engine = engine_for(aime, concurrency=3, fail_on={aime[9].problem})
    with pytest.raises(EngineCrash):
        run(engine, aime, path)
    succeeded = {p for call in engine.calls for p in call}
    on_disk = {r["problem"] for r in read_records(path).records}
    assert on_disk == succeeded and aime[9].problem not in on_disk
    assert run(engine_for(aime, concurrency=3), aime, path) == 30 - len(on_disk)
    assert sorted(indices(path)) == list(range(30))


def test_benchmarks_share_one_queue_and_resume_independently(aime, data_dir, tmp_path):
    amc = load_items("AMC23", data_dir)
    jobs = [job(aime, tmp_path / "AIME24.jsonl", n=2), job(amc, tmp_path / "AMC23.jsonl", n=4)]
    engine = engine_for(aime + amc, fail_on={amc[20].problem})
    with pytest.raises(EngineCrash):
        run_benchmarks(engine, jobs, SAMPLING, shard_sequences=40, progress=False)
    # 20 prompts per AIME shard (n=2), 10 per AMC shard (n=4), in benchmark order
    assert [len(c) for c in engine.calls] == [20, 10, 10, 10]
    assert sorted(indices(tmp_path / "AIME24.jsonl")) == list(range(30))
    assert sorted(indices(tmp_path / "AMC23.jsonl")) == list(range(20))
    engine = engine_for(aime + amc)
    assert run_benchmarks(engine, jobs, SAMPLING, shard_sequences=40, progress=False) == {"AIME24": 0, "AMC23": 20}
    assert [p for call in engine.calls for p in call] == [i.problem for i in amc[20:]]
    assert [r["n"] for r in read_records(tmp_path / "AMC23.jsonl").records] == [4] * 40


def test_torn_last_line_is_dropped_and_regenerated(aime, tmp_path):
    path = tmp_path / "AIME24.jsonl"
    run(engine_for(aime), aime, path)
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # a crash in the middle of writing the last record
    assert read_records(path).malformed == 1
    engine = engine_for(aime)
    assert run(engine, aime, path) == 1
    assert engine.calls == [[aime[29].problem]]
    assert read_records(path).malformed == 0 and sorted(indices(path)) == list(range(30))


def test_record_cut_before_its_newline_is_kept_not_glued(aime, tmp_path):
    path = tmp_path / "AIME24.jsonl"
    run(engine_for(aime), aime, path)
    text = path.read_text()
    ends = [i for i, char in enumerate(text) if char == "\n"]
    for cut, end in enumerate(ends):
        path.write_text(text[:end])  # a crash after record `cut` was written, before its newline
        engine = engine_for(aime)
        assert run(engine, aime, path) == 29 - cut
        result = read_records(path)
        assert (result.malformed, sorted(indices(path))) == (0, list(range(30))), cut
        assert path.read_text().endswith("\n")


def test_other_n_is_refused_without_touching_the_file(aime, tmp_path):
    path = tmp_path / "AIME24.jsonl"
    run(engine_for(aime), aime, path, n=2)
    before = path.read_text()
    with pytest.raises(ResumeMismatch, match="holds 2 samples per problem but this run asks for n=4"):
        run(engine_for(aime), aime, path, n=4)
    assert path.read_text() == before


def test_records_of_other_problems_are_refused(aime, data_dir, tmp_path):
    path = tmp_path / "AIME24.jsonl"
    run(engine_for(aime), aime, path)
    amc = load_items("AMC23", data_dir)
    with pytest.raises(ResumeMismatch, match="record 0 is for another problem"):
        run(engine_for(amc), amc, path)


def test_manifest_refuses_other_settings_and_merges_benchmarks(tmp_path):
    write_manifest(tmp_path, make_manifest("m", None, SAMPLING, {"AIME24": 32}))
    hotter = SamplingSpec(temperature=1.0, top_p=0.9, max_new_tokens=31744, seed=0)
    with pytest.raises(ResumeMismatch, match="holds a run with sampling="):
        write_manifest(tmp_path, make_manifest("m", None, hotter, {"AIME24": 32}))
    with pytest.raises(ResumeMismatch, match="holds a run with model='m', not 'other'"):
        write_manifest(tmp_path, make_manifest("other", None, SAMPLING, {"AIME24": 32}))
    write_manifest(tmp_path, make_manifest("m", None, SAMPLING, {"MATH-500": 4}))
    saved = json.loads((tmp_path / "run.json").read_text())
    assert saved["benchmarks"] == {"AIME24": {"n": 32}, "MATH-500": {"n": 4}}
    assert saved["sampling"] == {"temperature": 0.7, "top_p": 0.9, "max_new_tokens": 31744, "seed": 0}


def test_manifest_is_replaced_atomically(tmp_path, monkeypatch):
    write_manifest(tmp_path, make_manifest("m", None, SAMPLING, {"AIME24": 32}))
    good = (tmp_path / "run.json").read_text()

    def crash(*_args, **_kwargs):
        raise OSError("disk full")

    # The write fails before the new content is safely on disk: the old record must stay whole.
    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError):
        write_manifest(tmp_path, make_manifest("m", None, SAMPLING, {"MATH-500": 4}))
    assert (tmp_path / "run.json").read_text() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


@pytest.mark.parametrize("content", ['{"model": "m", "sampl', "[1, 2]", "\x00\xff"])
def test_unreadable_manifest_is_one_line_naming_the_file(tmp_path, content):
    (tmp_path / "run.json").write_text(content, encoding="latin-1")
    with pytest.raises(ResumeMismatch) as caught:
        write_manifest(tmp_path, make_manifest("m", None, SAMPLING, {"AIME24": 32}))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'run.json'} is not a justrl-eval run record") and "\n" not in message
    assert "delete it" in message


def test_chat_template_of_the_model_is_applied(aime, tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    [prompt] = render_prompts(AutoTokenizer.from_pretrained(tiny_tokenizer_dir), aime[:1])
    assert prompt == f"<|im_start|>user\n{aime[0].problem}<|im_end|>\n<|im_start|>assistant\n"


def test_shard_size_and_val_files():
    assert prompts_per_shard(1024, 32) == 32 and prompts_per_shard(1024, 4) == 256 and prompts_per_shard(10, 32) == 1
    assert val_files(["AMC23", "AIME24"], "/d") == ["/d/benchmarks/AIME24.parquet", "/d/benchmarks/AMC23.parquet"]
    assert val_files(None, "data") == [f"data/benchmarks/{n}.parquet" for n in NINE]


def test_vllm_engine_without_vllm_says_so():
    from justrl.eval.vllm_engine import VLLMEngine

    with pytest.raises(EngineUnavailable, match="vLLM is not installed"):
        VLLMEngine("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")


def test_replicas_fill_the_gpus_ray_sees():
    from justrl.eval.vllm_engine import replica_count

    assert replica_count(32, 1, None) == 32 and replica_count(8, 2, None) == 4 and replica_count(8, 1, 3) == 3
    with pytest.raises(EngineUnavailable, match="Ray sees 0 GPUs but engine.vllm.tensor_parallel_size=1"):
        replica_count(0, 1, None)
    with pytest.raises(EngineUnavailable, match="data_parallel_size=5 x tensor_parallel_size=2 needs more"):
        replica_count(8, 2, 5)


def test_cpu_placement_shares_out_the_cpus_ray_sees():
    from justrl.eval.vllm_engine import VLLMEngine, cpu_replicas

    assert cpu_replicas(2, None) == (1, 2) and cpu_replicas(16, 4) == (4, 4) and cpu_replicas(7, 2) == (2, 3)
    with pytest.raises(EngineUnavailable, match="data_parallel_size=3 needs more than the 2 CPUs Ray sees"):
        cpu_replicas(2, 3)
    with pytest.raises(EngineUnavailable, match=r"engine.vllm.placement='tpu'; expected one of gpu, cpu$"):
        VLLMEngine("m", placement="tpu")


def test_justrl_eval_without_vllm_fails_fast_in_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "justrl.cli.eval", "model=deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", f"out={tmp_path}/o"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("justrl-eval: vLLM is not installed;") and proc.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "model=PATH_OR_ID is required"),
        (["model=m", "benchmarks=[AIME24,AIME2025]"], "unknown benchmark 'AIME2025'"),
        (["model=m", "n=0"], "n=0; expected a positive integer"),
        (["model=m", "sampling.top_p=1.5"], "sampling.top_p=1.5; expected a number in (0, 1]"),
        (["model=m", "sampling.max_new_tokens=0"], "sampling.max_new_tokens=0; expected a positive integer"),
        (["model=m", "engine.kind=sglang"], "engine.kind='sglang'; expected one of vllm, transformers"),
        (["model=m", "temprature=0.6"], "bad override"),
        (["model=m", "engine.kind=transformers", "data_dir=/nonexistent"],
         "benchmark file /nonexistent/benchmarks/AIME24.parquet not found; run `justrl-prep benchmarks` first"),
    ],
)
def test_justrl_eval_bad_input_is_one_line(args, message, capsys):
    assert eval_main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_temperature_zero_is_greedy_on_the_transformers_engine(tiny_model_dir, aime):
    """justrl-eval accepts sampling.temperature=0; Transformers cannot sample at 0, so it decodes greedily."""
    from justrl.eval.transformers_engine import TransformersEngine

    engine = TransformersEngine(str(tiny_model_dir))
    [prompt] = render_prompts(engine.tokenizer, aime[:1])
    greedy = SamplingSpec(temperature=0.0, top_p=1.0, max_new_tokens=6, seed=0)
    first, second = engine.generate([prompt], 2, greedy)[0]
    assert first == second and first.num_tokens == 6 and first.finish_reason == "length"


def test_batched_prompts_decode_as_each_prompt_alone(tiny_model_dir, aime):
    """Left padding changes nothing a prompt sees: greedy completions of prompts of different
    lengths in one batch are those of each prompt generated by itself, in order."""
    from justrl.eval.transformers_engine import TransformersEngine

    engine = TransformersEngine(str(tiny_model_dir), batch_sequences=8)
    prompts = render_prompts(engine.tokenizer, aime[:5])
    assert len({len(engine.tokenizer(p)["input_ids"]) for p in prompts}) > 1
    greedy = SamplingSpec(temperature=0.0, top_p=1.0, max_new_tokens=8, seed=0)
    batched = engine.generate(prompts, 2, greedy)
    engine.batch_sequences = 1
    alone = [engine.generate([p], 2, greedy)[0] for p in prompts]
    assert [[c.text for c in r] for r in batched] == [[c.text for c in r] for r in alone]
    sampled = SamplingSpec(temperature=1.0, top_p=1.0, max_new_tokens=8, seed=0)
    engine.batch_sequences = 8
    first, again = engine.generate(prompts, 2, sampled), engine.generate(prompts, 2, sampled)
    assert len(first) == 5 and all(len(r) == 2 for r in first)
    assert [[c.text for c in r] for r in first] == [[c.text for c in r] for r in again]


def test_justrl_eval_end_to_end_on_cpu_then_grade(tiny_model_dir, data_dir, tmp_path, capsys):
    out = tmp_path / "eval"
    args = [f"model={tiny_model_dir}", "engine.kind=transformers", "benchmarks=[AMC23,AIME24]", "n=2", "limit=3",
            "sampling.max_new_tokens=4", f"data_dir={data_dir}", f"out={out}", "progress=false"]
    assert eval_main(args) == 0
    assert "justrl-eval: AIME24: 3 problems generated, 0 already done" in capsys.readouterr().out
    for name in ("AIME24", "AMC23"):
        records = read_records(out / f"{name}.jsonl").records
        assert [r["index"] for r in records] == [0, 1, 2]
        assert all(len(r["responses"]) == 2 and all(1 <= x["num_tokens"] <= 4 for x in r["responses"]) for r in records)
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["model"] == str(tiny_model_dir) and manifest["benchmarks"] == {"AIME24": {"n": 2}, "AMC23": {"n": 2}}
    assert eval_main(args) == 0
    assert "justrl-eval: AMC23: 0 problems generated, 3 already done" in capsys.readouterr().out
    assert eval_main([*args, "sampling.temperature=1.0"]) == 2
    assert "holds a run with sampling=" in capsys.readouterr().err
    assert grade_main([str(out), "--workers", "1", "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["benchmarks"]["AIME24"]["samples"] == 6 and results["table"]["rows"][0][0] == tiny_model_dir.name
