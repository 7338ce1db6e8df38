"""slurm/sft.sbatch and slurm/eval.sbatch on a real two-node Slurm on localhost.

SFT: justrl-sft must run once per node (torchrun on each, no Ray) with the first node as master and
its node rank from Slurm; checked with the smoke probe (what each copy sees and the torchrun line
justrl-sft's launcher builds from it) and with the real justrl-sft (real preflight, then the
composed config each node prints with --cfg job). Eval: the real justrl-eval on the tiny model on
CPUs, asked to stop by the time-limit warning, requeued, then generation resumed and graded, with
the table in the W&B offline run.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from data_prep.benchmarks import build_benchmarks
from slurm_support.jobs import JOB_TIMEOUT, lines_after, slurm, submit, wait_for_text  # noqa: F401 (fixtures)
from parquet_rows import chat, write_sft_parquet

pytestmark = pytest.mark.slow

SFT_RECIPE = "justtinker_qwen3_4b_sft"


def by_node(out: str) -> dict[int, list[str]]:
    """srun --label output: each line of a per-node step starts with its task (node) rank."""
    nodes: dict[int, list[str]] = defaultdict(list)
    for match in re.finditer(r"^(\d+): (.*)$", out, re.M):
        nodes[int(match.group(1))].append(match.group(2))
    return dict(nodes)


def master_port(job_id: str) -> int:
    return 20000 + 10 * (int(job_id) % 1000) + 4


def test_sft_runs_once_per_node_with_the_first_node_as_master(slurm, submit):
    user_args = [
        f"recipe={SFT_RECIPE}",
        "trainer.experiment_name='sft run'",
        'data.train_files=[a.parquet, "b c.parquet"]',
        "trainer.n_gpus_per_node=1",
    ]
    job_id, log = submit(
        user_args, env={"JUSTRL_CHECK_CMD": "printf 'check-arg: %s\\n'"}, nodes=2, script="sft.sbatch"
    )
    job = slurm.wait_finished(job_id, JOB_TIMEOUT)
    out = log.read_text()
    assert (job.state, job.exit_code) == ("COMPLETED", 0), out

    run_dir = submit.tmp / "runs" / f"sft_run-{job_id}"
    expected = user_args + ["trainer.nnodes=2", "trainer.resume_mode=auto", f"trainer.default_local_dir={run_dir}/checkpoints"]
    assert lines_after("check-arg: ", out) == expected
    assert "ray: starting" not in out and "RAY_ADDRESS" not in out
    port = master_port(job_id)
    assert f"per node: no Ray; one copy of the command on each node, torch.distributed master n1:{port}" in out
    assert out.index("check-arg: ") < out.index("per node: no Ray")

    nodes = by_node(out)
    assert sorted(nodes) == [0, 1], out
    for rank, name in ((0, "n1"), (1, "n2")):
        seen = lines_after("smoke-node: ", "\n".join(nodes[rank]))
        assert seen[0] == (
            f"node={name} node_id={rank} proc_id={rank} ntasks=2 master=n1:{port} "
            f"run_id=sft_run-{job_id} run_dir={run_dir} ray_address=None"
        )
        assert lines_after("override: ", "\n".join(seen)) == expected
        assert seen[-1] == (
            f"torchrun: -m torch.distributed.run --nproc_per_node=1 --nnodes=2 --node_rank={rank} "
            f"--master_addr=n1 --master_port={port} -m justrl.sft.worker config.yaml"
        )


def test_real_justrl_sft_passes_its_preflight_and_gets_the_overrides_on_each_node(slurm, submit, tiny_model_dir, tmp_path):
    rows = [chat(f"What is {i} + 1?", f"<think>\n{i} and one more.\n</think>\n\nThe answer is \\boxed{{{i + 1}}}.") for i in range(40)]
    write_sft_parquet(tmp_path / "data/openr1_sft/train.parquet", rows[:32])
    write_sft_parquet(tmp_path / "data/openr1_sft/val.parquet", rows[32:])
    user_args = [
        # model.lora_rank=8: the recipe's 128 (JustTinker's) exceeds the tiny model's hidden size (64).
        f"recipe={SFT_RECIPE}", f"model.path={tiny_model_dir}", "model.lora_rank=8", "trainer.total_epochs=400",
        "trainer.experiment_name='sft real'", "optim.lr=3e-5", "--cfg", "job",
    ]
    env = {"JUSTRL_SMOKE": "0", "JUSTRL_CPU_ONLY": "1", "JUSTRL_DATA_DIR": str(tmp_path / "data")}
    job_id, log = submit(user_args, env=env, nodes=2, script="sft.sbatch")
    job = slurm.wait_finished(job_id, JOB_TIMEOUT)
    out = log.read_text()
    assert (job.state, job.exit_code) == ("COMPLETED", 0), out

    assert "preflight: justrl-sft --check" in out and "all checks passed" in out
    run_dir = submit.tmp / "runs" / f"sft_real-{job_id}"
    nodes = by_node(out)
    assert sorted(nodes) == [0, 1], out
    for rank in (0, 1):
        cfg = yaml.safe_load("\n".join(nodes[rank]))
        assert cfg["trainer"]["experiment_name"] == "sft real"
        assert (cfg["trainer"]["nnodes"], cfg["trainer"]["n_gpus_per_node"]) == (2, 8)
        assert (cfg["trainer"]["resume_mode"], cfg["trainer"]["default_local_dir"]) == ("auto", f"{run_dir}/checkpoints")
        assert (cfg["optim"]["lr"], cfg["model"]["path"]) == (3e-5, str(tiny_model_dir))


def test_a_failing_node_ends_the_sft_job_with_a_failure(slurm, submit):
    env = {"JUSTRL_SMOKE": "0", "JUSTRL_CPU_ONLY": "1", "JUSTRL_CHECK_CMD": ""}
    job_id, log = submit([f"recipe={SFT_RECIPE}"], env=env, nodes=2, script="sft.sbatch")
    job = slurm.wait_finished(job_id, JOB_TIMEOUT)
    out = log.read_text()
    message = f"justrl-sft: error: no GPU on this machine; SFT runs on GPU nodes (slurm/sft.sbatch). Here, `justrl-sft recipe={SFT_RECIPE} --check`"
    assert any(line.startswith(message) for lines in by_node(out).values() for line in lines), out
    # The first copy to fail ends the other (--kill-on-bad-exit); srun's status is the worst task's.
    assert re.search(r"^srun: error: n[12]: task [01]: Exited with exit code 1$", out, re.M), out
    status = int(re.search(r"command exited with status (\d+)", out).group(1))
    assert job.state == "FAILED" and job.exit_code == status in (1, 143), out
    assert f"job {job_id} exits with status {status}" in out


def test_eval_job_generates_then_grades_only_when_not_asked_to_stop(slurm, submit, tiny_model_dir, benchmarks_dir, tmp_path):
    build_benchmarks(tmp_path / "data" / "benchmarks", benchmarks_dir, names=["AMC23"])
    out_dir = tmp_path / "eval"
    args = [
        f"model={tiny_model_dir}", "engine.kind=transformers", "benchmarks=[AMC23]", "n=2", "limit=2",
        "sampling.max_new_tokens=4", f"data_dir={tmp_path / 'data'}", f"out={out_dir}", "progress=false",
    ]
    env = {
        "JUSTRL_SMOKE": "0", "JUSTRL_CPU_ONLY": "1", "JUSTRL_SAVE_TIMEOUT": "120",
        "WANDB_MODE": "offline", "WANDB_PROJECT": "justrl-slurm-test",
    }
    job_id, log = submit(args, env=env, script="eval.sbatch")
    wait_for_text(log, r"run: python slurm/eval_job\.py with 9 override\(s\)")
    slurm.run("scancel", "--batch", "--signal=USR1", job_id)
    slurm.release_requeued(job_id, JOB_TIMEOUT)
    job = slurm.wait(job_id, lambda j: j.restarts == 1 and j.state in ("COMPLETED", "FAILED"), JOB_TIMEOUT)
    text = log.read_text()
    assert (job.state, job.exit_code) == ("COMPLETED", 0), text

    first, second = text.split(f"job {job_id} (eval) restart count 1")
    assert "justrl-eval: AMC23: 2 problems generated, 0 already done" in first
    assert f"generation finished, but the job was asked to stop: the requeued job grades {out_dir}" in first
    assert "grading:" not in first and f"requeue: scontrol requeue {job_id} (restart 1)" in first
    assert "justrl-eval: AMC23: 0 problems generated, 2 already done" in second
    assert f"grading: justrl-grade {out_dir} --wandb-project justrl-slurm-test" in second

    results = json.loads((out_dir / "results.json").read_text())
    assert results["benchmarks"]["AMC23"]["samples"] == 4
    row = results["table"]["rows"][0]
    assert row[0] == tiny_model_dir.name
    table = (out_dir / "results.md").read_text().splitlines()
    assert "| " + " | ".join(results["table"]["header"]) + " |" in table
    assert any(line.startswith(f"| {tiny_model_dir.name} | - | - | ") for line in table)

    run_id = f"{tiny_model_dir.name}-{job_id}"
    runs = list(out_dir.glob("wandb/offline-run-*"))
    assert [r.name.endswith(f"-{run_id}") for r in runs] == [True], runs
    tables = list(runs[0].glob("files/media/table/eval/results_*.table.json"))
    logged = json.loads(tables[0].read_text())
    assert logged["columns"] == results["table"]["header"] and logged["data"][0] == row
