"""Every command over a table of bad inputs: the documented exit status and one line naming the
problem, never a traceback (each of these once ended in ZeroDivisionError, OSError, ArrowInvalid,
UnicodeDecodeError, AttributeError, TypeError or FileExistsError, passed silently, or printed a fix
that did not apply).

Most commands run in this process; the ones that go through hydra.main (justrl-train, justrl-sft)
and the cases that need a process of their own (no right to read or write as root, a full disk by
RLIMIT_FSIZE) run as a user runs them, and all of them must fail before Ray starts."""

from __future__ import annotations

import json
import os
import shutil
import traceback
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.cli import main as prep_main
from data_prep.output import RL_SCHEMA
from justrl.cli.check import main as check_main
from justrl.cli.eval import main as eval_main
from justrl.cli.grade import main as grade_main
from justrl.cli.monitor import main as monitor_main
from justrl.cli.format_check import main as format_check_main
from justrl.cli.plot import main as plot_main
from justrl.cli.sft import main as sft_main
from cpu_runs import cpu_env, run_command
from parquet_rows import write_rl_parquet

COMMANDS = {
    "justrl-check": check_main,
    "justrl-prep": prep_main,
    "justrl-eval": eval_main,
    "justrl-grade": grade_main,
    "justrl-monitor": monitor_main,
    "justrl-plot": plot_main,
    "justrl-sft": sft_main,
    "justrl-format-check": format_check_main,
}
RUN_LINE = {"step": 1, "data": {"critic/score/mean": 0.5, "response_length/mean": 100.0}}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """One bad input of each kind, plus the good files the commands need around it."""
    root = tmp_path_factory.mktemp("bad")
    good = root / "good.parquet"
    write_rl_parquet(good, 512, "math_dapo")
    data = bytearray(good.read_bytes())
    data[100 : len(data) // 2] = b"\xff" * (len(data) // 2 - 100)  # data pages garbled, footer intact
    (root / "corrupt.parquet").write_bytes(bytes(data))
    pq.write_table(RL_SCHEMA.empty_table(), root / "empty.parquet")
    (root / "evaldata" / "benchmarks").mkdir(parents=True)
    (root / "evaldata" / "benchmarks" / "AIME24.parquet").write_bytes(bytes(data))
    (root / "binary.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00" * 50)
    (root / "data5.jsonl").write_text(json.dumps({"step": 1, "data": 5}) + "\n" + json.dumps(RUN_LINE) + "\n")
    (root / "run.jsonl").write_text(json.dumps(RUN_LINE) + "\n" + json.dumps({**RUN_LINE, "step": 2}) + "\n")
    (root / "a_file").write_text("not a folder")
    graded = root / "graded"
    graded.mkdir()
    record = {"index": 0, "problem": "p", "ground_truth": "1", "n": 1, "responses": [{"text": "\\boxed{1}"}]}
    (graded / "AIME24.jsonl").write_text(json.dumps(record) + "\n")
    (graded / "run.json").write_text('{"model": "m", "sampl')
    (root / "graded_ok").mkdir()
    (root / "graded_ok" / "AIME24.jsonl").write_text(json.dumps(record) + "\n")
    _bad_rows(root)
    _unusable_places(root)
    return {p.stem: p for p in root.iterdir()}


def _bad_rows(root: Path) -> None:
    """Files whose bad rows lie past the 64 rows the preflight used to sample."""
    rows = pq.read_table(write_rl_parquet(root / "tiny_rows.parquet", 200, "tiny_add")).to_pylist()
    late = [dict(row) for row in rows]
    for index, truth in ((100, None), (150, ""), (180, "  ")):
        late[index]["reward_model"] = {"ground_truth": truth, "style": "rule"}
    pq.write_table(pa.Table.from_pylist(late), root / "gt_late.parquet")
    lists = [{**row, "reward_model": {"ground_truth": [row["reward_model"]["ground_truth"]], "style": "rule"}} for row in rows]
    pq.write_table(pa.Table.from_pylist(lists), root / "gt_list.parquet")
    long = [dict(row) for row in rows]
    for index in (70, 90):
        long[index]["prompt"] = [{"role": "user", "content": "What is 1 + 1? " * 200}]
    pq.write_table(pa.Table.from_pylist(long), root / "long_prompts.parquet")
    pq.write_table(pa.Table.from_pylist(rows).drop(["reward_model"]), root / "no_reward.parquet")
    pq.write_table(pa.table({"question": ["1 + 1"]}), root / "no_prompt.parquet")


def _unusable_places(root: Path) -> None:
    """A file nobody may read, a folder nobody may write (chmod; root loses the right to ignore
    it in run_as_user), and a folder to be filled by a full disk."""
    locked = root / "locked.parquet"
    write_rl_parquet(locked, 16, "math_dapo")
    locked.chmod(0)
    (root / "readonly").mkdir()
    (root / "readonly").chmod(0o555)
    (root / "scratch").mkdir()


@pytest.fixture(scope="module")
def model_files(tiny_data_root, tmp_path_factory) -> dict[str, Path]:
    """The tiny task and model of `justrl-prep tiny`, and the same model folder without its weights."""
    model = tiny_data_root / "tiny" / "model"
    no_weights = tmp_path_factory.mktemp("models") / "no_weights"
    shutil.copytree(model, no_weights, ignore=shutil.ignore_patterns("*.safetensors"))
    return {"data": tiny_data_root, "model": model, "no_weights": no_weights, "tiny": tiny_data_root / "tiny"}


CASES = [
    # justrl-check: sizes the batch checks divide by, and unreadable training files
    ("justrl-check", ["recipe=smoke_1gpu", "actor_rollout_ref.actor.ppo_mini_batch_size=0"], 1,
     "error: actor_rollout_ref.actor.ppo_mini_batch_size=0: expected a positive integer"),
    ("justrl-check", ["recipe=smoke_1gpu", "trainer.n_gpus_per_node=0"], 1,
     "error: trainer.n_gpus_per_node=0: expected a positive integer"),
    ("justrl-check", ["recipe=smoke_1gpu", "actor_rollout_ref.rollout.tensor_model_parallel_size=0"], 1,
     "error: actor_rollout_ref.rollout.tensor_model_parallel_size=0: expected a positive integer"),
    ("justrl-check", ["recipe=smoke_1gpu", "data.train_batch_size=0"], 1,
     "error: data.train_batch_size=0: expected a positive integer"),
    ("justrl-check", ["recipe=smoke_1gpu", "actor_rollout_ref.rollout.n=-4"], 1,
     "error: actor_rollout_ref.rollout.n=-4: expected a positive integer"),
    ("justrl-check", ["recipe=smoke_1gpu", "data.train_files={corrupt}"], 1,
     "error: data.train_files: {corrupt} has unreadable data (Couldn't deserialize thrift"),
    ("justrl-check", ["recipe=smoke_1gpu", "data.train_files={empty}"], 1,
     "error: data.train_files: {empty} has no rows; rebuild it with justrl-prep"),
    # justrl-prep: corrupt source pages, --out where a folder cannot be
    ("justrl-prep", ["dapo", "--out", "{a_file}/out", "--source", "{good}", "--no-decontam"], 2,
     "justrl-prep: error: Not a directory: {a_file}/out"),
    ("justrl-prep", ["dapo", "--out", "{a_file}", "--source", "{good}", "--no-decontam"], 2,
     "justrl-prep: error: File exists: {a_file}"),
    ("justrl-prep", ["dapo", "--out", "{evaldata}/dapo", "--source", "{corrupt}", "--no-decontam"], 2,
     "justrl-prep: error: {corrupt}: unreadable parquet data (Couldn't deserialize thrift"),
    # justrl-eval: an unreadable benchmark file
    ("justrl-eval", ["model=m", "engine.kind=transformers", "benchmarks=[AIME24]", "data_dir={evaldata}"], 2,
     "justrl-eval: {evaldata}/benchmarks/AIME24.parquet cannot be read ("),
    # justrl-grade: a truncated run.json
    ("justrl-grade", ["{graded}", "--workers", "1", "--no-progress"], 2,
     "justrl-grade: {graded}/run.json is not a justrl-eval run record (JSONDecodeError"),
    # justrl-monitor / justrl-plot: binary input, a line whose data is not an object, bad override types
    ("justrl-monitor", ["replay", "{binary}"], 2, "justrl-monitor: error: {binary}: not UTF-8 text"),
    ("justrl-monitor", ["replay", "{data5}"], 2, "justrl-monitor: error: {data5}:1: expected a veRL file-logger line"),
    ("justrl-monitor", ["replay", "{run}", "early_stop.patience=abc"], 2,
     "justrl-monitor: error: early_stop.patience='abc': expected an integer"),
    ("justrl-plot", ["{binary}"], 2, "justrl-plot: error: {binary}: not UTF-8 text"),
    ("justrl-plot", ["{data5}"], 2, "justrl-plot: error: {data5}:1: expected a veRL file-logger line"),
    ("justrl-plot", ["{run}", "--out", "{a_file}/curves.png"], 2, "justrl-plot: error: File exists: {a_file}; check the path, --out and free space"),
    # issue 24 item 6: ground truths past the rows the preflight sampled, and list-typed ground truths
    ("justrl-check", ["recipe=smoke_1gpu", "data.train_files={gt_late}"], 1,
     "error: data.train_files: {gt_late}: 3 of 200 rows have no usable reward_model.ground_truth (first: row 100, got None)"),
    ("justrl-check", ["recipe=smoke_1gpu", "data.train_files={gt_list}"], 1,
     "error: data.train_files: {gt_list}: 200 of 200 rows have no usable reward_model.ground_truth (first: row 0, got ['1'])"),
    # a wrong column, an unknown recipe or key
    ("justrl-check", ["recipe=smoke_1gpu", "data.train_files={no_reward}"], 1,
     "error: data.train_files: {no_reward} lacks column(s) reward_model; veRL's RL schema needs"),
    ("justrl-check", ["recipe=smoke_1gpu", "data.train_files={good}", "data.prompt_key=question"], 1,
     "error: data.train_files: {good} lacks column(s) question; veRL's RL schema needs"),
    ("justrl-check", ["recipe=smoke_1gpu", "trainer.total_epoch=2"], 2,
     "justrl-check: error: unknown key 'trainer.total_epoch' (did you mean trainer.total_epochs?)"),
    ("justrl-sft", ["recipe=tiny_cpu_sft", "--check", "optim.lr_warmup=0.1"], 2,
     "justrl-sft: error: unknown key 'optim.lr_warmup' (did you mean optim.lr_warmup_steps"),
    ("justrl-sft", ["recipe=tiny_cpu", "--check"], 2,
     "justrl-sft: error: recipe 'tiny_cpu' is an RL recipe; check it with `justrl-check recipe=tiny_cpu`"),
    ("justrl-eval", ["model=m", "benchmark=[AIME24]"], 2,
     "justrl-eval: bad override in 'model=m benchmark=[AIME24]': unknown key 'benchmark' (the keys are in `justrl-eval --help`)"),
    ("justrl-format-check", ["model=m", "data={no_prompt}", "engine.kind=transformers"], 2,
     "justrl-format-check: data={no_prompt}: expected a 'prompt' or 'messages' column of chat messages, found question"),
    ("justrl-format-check", ["model=m", "data={corrupt}", "engine.kind=transformers"], 2,
     "justrl-format-check: data={corrupt}: cannot be read ("),
    ("justrl-format-check", ["responses={scratch}/none.jsonl"], 2, "justrl-format-check: responses={scratch}/none.jsonl: file not found"),
    ("justrl-monitor", ["replay", "{run}", "early_stop.patiense=5"], 2,
     "justrl-monitor: error: unknown key 'early_stop.patiense' in 'early_stop.patiense=5'; expected a key of justrl.health"),
    ("justrl-monitor", ["replay", "{scratch}/none.jsonl"], 2, "justrl-monitor: error: run file '{scratch}/none.jsonl' does not exist"),
    ("justrl-plot", ["{run}", "--rules", "nosuch"], 2, "justrl-plot: error: --rules 'nosuch': expected one of"),
    ("justrl-grade", ["{scratch}/none"], 2, "justrl-grade: evaluation directory {scratch}/none not found; expected the out= of justrl-eval"),
    ("justrl-prep", ["dapo", "--out", "{scratch}/dapo", "--source", "{no_reward}", "--no-decontam"], 2,
     "justrl-prep: error: {no_reward}: missing column 'reward_model'"),
    ("justrl-prep", ["benchmarks", "--out", "{scratch}/b", "--names", "AIME2024"], 2, "justrl-prep: error: "),
]


@pytest.mark.parametrize(("command", "args", "code", "line"), CASES, ids=[f"{c[0]} {' '.join(c[1])}" for c in CASES])
def test_bad_input_is_one_line_and_no_traceback(command, args, code, line, files, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    fill = {name: str(path) for name, path in files.items()}
    try:
        status = COMMANDS[command]([arg.format(**fill) for arg in args])
    except Exception:  # noqa: BLE001 - the defect under test: report it as a failure, not an error
        pytest.fail(f"{command} raised instead of a one-line error:\n{traceback.format_exc()}")
    out = capsys.readouterr()
    printed = out.out + out.err
    assert status == code, printed
    assert "Traceback" not in printed
    matching = [l for l in printed.splitlines() if l.startswith(line.format(**fill))]
    assert len(matching) == 1, printed
    assert_one_line(command, out.err, matching)


def assert_one_line(command: str, stderr: str, matching: list[str]) -> None:
    """The checks print their plan too (stdout); every other failure is one line on stderr, the
    commands that import veRL or torch aside, whose import warnings come first."""
    if not matching[0].startswith("error: "):
        assert [l for l in stderr.splitlines() if l.startswith(command)] == matching, stderr


# Run as a user runs them, with the tiny task and model of `justrl-prep tiny` (JUSTRL_DATA_DIR).
# `limit`: "fsize" = a full disk (RLIMIT_FSIZE of 64 bytes: room for the grading pool's semaphores in
# /dev/shm, none for an output file; a write past it fails with EFBIG).
TINY_RL = ["recipe=tiny_cpu", "data.train_batch_size=8"]
AS_USER_CASES = [
    # issue 24 items 6 and 7 through the real trainer command: refused by its preflight, before Ray
    ("justrl-train", [*TINY_RL, "data.train_files={gt_late}"], None, 1,
     "error: data.train_files: {gt_late}: 3 of 200 rows have no usable reward_model.ground_truth (first: row 100, got None)"),
    ("justrl-train", [*TINY_RL, "data.filter_overlong_prompts=false", "data.max_prompt_length=32"], None, 1,
     "error: data.train_files: {tiny}/train.parquet: 80 rows have prompts longer than data.max_prompt_length=32 tokens (longest 36, first: row 0)"),
    ("justrl-check", [*TINY_RL, "data.filter_overlong_prompts=false", "data.train_files={long_prompts}"], None, 1,
     "error: data.train_files: {long_prompts}: 2 rows have prompts longer than data.max_prompt_length=64 tokens (longest "),
    # a model folder without weights, a run folder that cannot be written, an unknown recipe
    ("justrl-train", [*TINY_RL, "actor_rollout_ref.model.path={no_weights}"], None, 1,
     "error: actor_rollout_ref.model.path={no_weights} has no weights (no *.safetensors, pytorch_model*.bin, *.gguf); expected a Hugging Face model folder"),
    ("justrl-train", [*TINY_RL, "trainer.default_local_dir={readonly}/run"], None, 1,
     "error: trainer.default_local_dir={readonly}/run: {readonly}, where it would be created, is not writable here"),
    ("justrl-train", ["recipe=tiny_cpuu"], None, 2, "justrl-train: error: unknown recipe 'tiny_cpuu' (did you mean tiny_cpu?)"),
    ("justrl-train", [*TINY_RL, "data.train_files={locked}"], None, 1,
     "error: data.train_files: {locked} is not a readable parquet file ([Errno 13] Failed to open local file"),
    ("justrl-sft", ["recipe=tiny_cpu_sft", "model.path={no_weights}"], None, 1,
     "error: model.path={no_weights} has no weights"),
    ("justrl-sft", ["recipe=tiny_cpu_sft", "data.messages_key=turns"], None, 1,
     "error: data.train_files: {tiny}/sft/train.parquet has no readable 'turns' column of chat messages"),
    ("justrl-sft", ["recipe=tiny_cpu_sft", "trainer.default_local_dir={readonly}/sft"], None, 1,
     "error: trainer.default_local_dir={readonly}/sft: {readonly}, where it would be created, is not writable here"),
    # Hydra's own output folder (hydra.run.dir), written before the command's code runs: a full disk, read-only
    ("justrl-train", [*TINY_RL, "hydra.run.dir={scratch}/hydra_train"], "fsize", 2,
     "justrl-train: error: Hydra's output folder {scratch}/hydra_train cannot be written: no space left (File too large); free space there"),
    ("justrl-sft", ["recipe=tiny_cpu_sft", "hydra.run.dir={scratch}/hydra_sft"], "fsize", 2,
     "justrl-sft: error: Hydra's output folder {scratch}/hydra_sft cannot be written: no space left (File too large); free space there"),
    ("justrl-sft", ["recipe=tiny_cpu_sft", "hydra.run.dir={readonly}/hydra_sft"], None, 2,
     "justrl-sft: error: Hydra's output folder {readonly}/hydra_sft cannot be written: not writable (Permission denied); run from"),
    # generation and grading: a model folder without weights, unreadable input, read-only output, a full disk
    ("justrl-eval", ["model={no_weights}", "engine.kind=transformers", "benchmarks=[TinyAdd]", "data_dir={tiny}", "out={scratch}/e1"], None, 2,
     "justrl-eval: model={no_weights} has no weights"),
    ("justrl-eval", ["model={scratch}/missing_model", "engine.kind=transformers"], None, 2,
     "justrl-eval: model={scratch}/missing_model does not exist; expected a Hugging Face model folder or a hub id"),
    ("justrl-eval", ["model={model}", "engine.kind=transformers", "benchmarks=[TinyAdd]", "data_dir={tiny}", "out={readonly}/e2"], None, 2,
     "justrl-eval: Permission denied: {readonly}/e2; check out= and free space"),
    ("justrl-eval", ["model={model}", "engine.kind=transformers", "benchmarks=[TinyAdd]", "data_dir={tiny}", "out={scratch}/e3"], "fsize", 2,
     "justrl-eval: File too large: {scratch}/e3; check out= and free space"),
    ("justrl-format-check", ["model={no_weights}", "data={tiny}/val.parquet", "engine.kind=transformers"], None, 2,
     "justrl-format-check: model={no_weights} has no weights"),
    ("justrl-format-check", ["model={model}", "data={locked}", "engine.kind=transformers"], None, 2,
     "justrl-format-check: data={locked}: cannot be read ([Errno 13] Failed to open local file"),
    ("justrl-grade", ["{graded_ok}", "--workers", "1", "--no-progress"], "fsize", 2,
     "justrl-grade: File too large: {graded_ok}; check that {graded_ok} is readable and writable"),
    ("justrl-plot", ["{run}", "--out", "{readonly}/curves.png"], None, 2,
     "justrl-plot: error: Permission denied: {readonly}/curves.png; check the path, --out and free space"),
    ("justrl-plot", ["{run}", "--out", "{scratch}/curves.png"], "fsize", 2,
     "justrl-plot: error: File too large: {scratch}/curves.png; check the path, --out and free space"),
    ("justrl-plot", ["{locked}"], None, 2, "justrl-plot: error: Permission denied: {locked}; check"),
    ("justrl-monitor", ["replay", "{locked}"], None, 2, "justrl-monitor: error: Permission denied: {locked}; check the path and its permissions"),
    ("justrl-prep", ["dapo", "--out", "{readonly}/dapo", "--source", "{good}", "--no-decontam"], None, 2,
     "justrl-prep: error: Permission denied: {readonly}/dapo; check --out and free space"),
    ("justrl-prep", ["dapo", "--out", "{scratch}/dapo_full", "--source", "{good}", "--no-decontam"], "fsize", 2,
     "justrl-prep: error: Error writing bytes to file. Detail: [errno 27] File too large: {scratch}/dapo_full; check --out and free space"),
]


def as_user(args: list[str], limit: str | None) -> list[str]:
    """The command line with its limits: root loses the rights that ignore file modes (so chmod
    means what it says, as for any user), and "fsize" makes every file write past 64 bytes fail."""
    prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"] if os.geteuid() == 0 else []
    if limit == "fsize":
        prefix += ["prlimit", "--fsize=64", "--"]
    return [*prefix, *args]


@pytest.mark.parametrize(
    ("command", "args", "limit", "code", "line"), AS_USER_CASES, ids=[f"{c[0]} {' '.join(c[1])} {c[2] or ''}" for c in AS_USER_CASES]
)
def test_bad_input_as_a_user_runs_it(command, args, limit, code, line, files, model_files, tmp_path):
    fill = {name: str(path) for name, path in {**files, **model_files}.items()}
    env = cpu_env(model_files["data"], CUDA_VISIBLE_DEVICES="")
    done = run_command(as_user([command, *(arg.format(**fill) for arg in args)], limit), tmp_path, env, timeout=300)
    assert done.returncode == code, done.describe()
    assert "Traceback" not in done.output, done.describe()
    matching = [l for l in done.output.splitlines() if l.startswith(line.format(**fill))]
    assert len(matching) == 1, done.describe()
    assert_one_line(command, done.stderr, matching)
    assert "Started a local Ray instance" not in done.output, done.describe()
