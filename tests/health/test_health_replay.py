"""`justrl-monitor replay` over the recorded collapse (exp 001) and over healthy runs, both formats.

The recorded healthy run (exp 002) is not shipped; "never stops a healthy run" is checked on the
pre-collapse part of exp 001 and on a constructed run (tests/health_runs.py) written by veRL's own
`file` logger, exactly as training writes it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from health_runs import healthy_run
from justrl.cli.monitor import main
from justrl.health.history import load_history

EXP001 = "exp001_collapse.json"


def write_with_verl_file_logger(path, run, monkeypatch) -> None:
    """Log `run` through veRL's Tracking with the `file` backend, as the trainer does."""
    from verl.utils.tracking import Tracking

    monkeypatch.setenv("VERL_FILE_LOGGER_PATH", str(path))
    tracker = Tracking(project_name="justrl", experiment_name=path.stem, default_backend=["file"])
    for step, metrics in run:
        tracker.log(data=metrics, step=step)
    tracker.finish()


@pytest.fixture(scope="module")
def exp001(histories_dir):
    return histories_dir / EXP001


def replay_lines(capsys, *argv) -> tuple[int, list[str]]:
    code = main(["replay", *map(str, argv)])
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


def test_exp001_history_reads_as_recorded(exp001):
    history = dict(load_history(exp001))
    assert sorted(history) == list(range(1, 151))
    assert history[1]["justrl/accuracy"] == 0.76953125
    assert history[150]["justrl/response_length/mean"] == 6163.14
    assert history[140]["justrl/val/accuracy"] == 0.765
    assert "justrl/val/accuracy" not in history[139]


def test_replay_stops_exp001_before_the_accuracy_floor(exp001, capsys):
    code, lines = replay_lines(capsys, exp001)
    assert code == 0
    assert lines[0].startswith(f"replaying {exp001}: 150 steps (1..150), rules 'justtinker', early stopping on")
    assert lines[-1] == (
        "would STOP at step 139: health rules fired on 3 consecutive steps "
        "(now: response_length_high, thinking_rate_low)"
    )
    stop_step = int(lines[-1].split()[4].rstrip(":"))
    history = dict(load_history(exp001))
    floor_step = min(history, key=lambda s: history[s]["justrl/accuracy"])
    assert floor_step == 150 and history[floor_step]["justrl/accuracy"] == 0.234375
    assert stop_step <= 140 and stop_step < floor_step
    warnings = [line for line in lines if line.startswith("[justrl health] WARNING")]
    assert warnings[0].startswith("[justrl health] WARNING step 97: length_up_accuracy_down:")
    assert "[justrl health] WARNING step 119: response_length_high: justrl/response_length/mean = 5294 > threshold 5000" in lines
    assert "[justrl health] WARNING step 137: thinking_rate_low: justrl/thinking_rate = 0.5625 < threshold 0.6" in lines


def test_replay_with_justrl_rules_warns_but_never_stops(exp001, capsys):
    code, lines = replay_lines(capsys, exp001, "--rules", "justrl")
    assert code == 0
    assert lines[-1] == "would not stop: 150 steps, 51 warnings (early stopping is off in these rules)"


def test_replay_never_stops_the_pre_collapse_part_of_exp001(exp001, tmp_path, capsys):
    doc = json.loads(exp001.read_text())
    keep = sum(1 for s in doc["step"] if s <= 110)
    keep_eval = sum(1 for s in doc["eval_step"] if s <= 110)
    cut = {
        k: (v[:keep_eval] if k.startswith("eval_") else v[:keep]) if isinstance(v, list) else v for k, v in doc.items()
    }
    path = tmp_path / "exp001_first110.json"
    path.write_text(json.dumps(cut))
    code, lines = replay_lines(capsys, path)
    assert code == 0 and lines[-1] == "would not stop: 110 steps, 1 warnings"


def test_a_metric_added_mid_run_covers_the_last_steps(exp001, tmp_path, capsys):
    """JustTinker's merged histories: the redundancy columns start when the penalty was turned on."""
    doc = json.loads(exp001.read_text())
    steps = doc["step"]
    late = steps[80:]
    doc["avg_redundancy_score"] = [0.9] * len(late)  # far above redundancy_high: fires on each covered step
    path = tmp_path / "exp002_like.json"
    path.write_text(json.dumps(doc))
    code, lines = replay_lines(capsys, path)
    assert code == 0
    assert lines[1] == (f"note: column 'avg_redundancy_score' has {len(late)} values for {len(steps)} step "
                        f"entries: read as the last (from step {late[0]})")
    redundancy = [line for line in lines if "redundancy" in line and line.startswith("[justrl health]")]
    assert redundancy and all(int(line.split("step ")[1].split(":")[0]) >= late[0] for line in redundancy)
    history = dict(load_history(path))
    assert "justrl/redundancy/mean" not in history[steps[79]] and history[late[0]]["justrl/redundancy/mean"] == 0.9


@pytest.fixture(scope="module")
def file_logger_runs(tmp_path_factory, exp001):
    """exp 001 and the constructed healthy run, as veRL `file` logger JSONL."""
    monkeypatch = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("runs")
    paths = {"exp001": folder / "exp001.jsonl", "healthy": folder / "healthy.jsonl"}
    write_with_verl_file_logger(paths["exp001"], load_history(exp001), monkeypatch)
    write_with_verl_file_logger(paths["healthy"], healthy_run(), monkeypatch)
    monkeypatch.undo()
    return paths


def test_file_logger_jsonl_of_exp001_stops_at_the_same_step(file_logger_runs, capsys):
    first = json.loads(file_logger_runs["exp001"].read_text().splitlines()[0])
    assert first["step"] == 1 and first["data"]["justrl/accuracy"] == 0.76953125
    code, lines = replay_lines(capsys, file_logger_runs["exp001"])
    assert code == 0 and lines[-1].startswith("would STOP at step 139:")


def test_replay_never_stops_a_constructed_healthy_run(file_logger_runs, capsys):
    code, lines = replay_lines(capsys, file_logger_runs["healthy"])
    assert code == 0
    assert lines[0].endswith("201 steps (0..200), rules 'justtinker', early stopping on")
    assert lines[-1].startswith("would not stop: 201 steps")
    # Healthy redundancy sits near 38% (published), so the 40% warning fires now and then; nothing else.
    fired = {line.split(": ")[1] for line in lines if line.startswith("[justrl health] WARNING")}
    assert fired == {"redundancy_high"}


def test_cut_off_last_line_of_a_crashed_run_is_skipped(file_logger_runs, tmp_path, capsys):
    text = file_logger_runs["exp001"].read_text()
    crashed = tmp_path / "crashed.jsonl"
    crashed.write_text(text[: text.index('{"step":139')] + '{"step":139,"data":{"justrl/acc')
    assert [s for s, _ in load_history(crashed)][-1] == 138
    code, lines = replay_lines(capsys, crashed)
    assert code == 0 and lines[-1].startswith("would not stop: 138 steps")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"step": 1, "data": {}}\nnot json\n{"step": 3, "data": {}}\n', "bad.txt:2: expected a veRL file-logger line"),
        ('{"step": [1], "acc": [0.5, 0.6]}', "column 'acc' has 2 values for 1 step entries; a column may cover the last"),
        ("[1, 2, 3]", "expected a JSON object with a 'step' list"),
    ],
)
def test_bad_run_files_give_one_line_errors(tmp_path, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    code, lines = replay_lines(capsys, path)
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("justrl-monitor: error: ") and message in lines[0]


def test_bad_rules_give_one_line_errors(exp001, capsys):
    code, lines = replay_lines(capsys, exp001, "--rules", "nope")
    assert code == 2 and lines == [
        "justrl-monitor: error: --rules 'nope': expected one of justrl, justtinker or a .yaml file"
    ]
    code, lines = replay_lines(capsys, exp001, "early_stop.rules=[typo]")
    assert code == 2 and len(lines) == 1 and "unknown rules ['typo']" in lines[0]


def test_console_script_runs(exp001):
    script = Path(sys.executable).parent / "justrl-monitor"
    done = subprocess.run(
        [str(script), "replay", str(exp001), "early_stop.patience=2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("would STOP at step 138:")
