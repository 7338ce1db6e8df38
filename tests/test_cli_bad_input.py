"""Every command over a table of bad inputs: the documented exit status and one line naming the
problem, never a traceback (each of these once ended in ZeroDivisionError, OSError, ArrowInvalid,
UnicodeDecodeError, AttributeError, TypeError or FileExistsError)."""

from __future__ import annotations

import json
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
from justrl.cli.plot import main as plot_main
from test_recipes import write_rl_parquet

COMMANDS = {
    "justrl-check": check_main,
    "justrl-prep": prep_main,
    "justrl-eval": eval_main,
    "justrl-grade": grade_main,
    "justrl-monitor": monitor_main,
    "justrl-plot": plot_main,
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
    return {p.stem: p for p in root.iterdir()}


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
    ("justrl-plot", ["{run}", "--out", "{a_file}/curves.png"], 2, "justrl-plot: error: "),
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
    if command != "justrl-check":  # the check prints its plan too; the others print only the error
        assert [l for l in out.err.splitlines() if l.startswith(command)] == matching
