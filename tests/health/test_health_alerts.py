"""Warnings reach the console always, and W&B as alerts when a W&B run is active (offline here)."""

from __future__ import annotations

import sys
import time

from justrl.health.alerts import emit


def test_without_wandb_run_only_prints(capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "wandb", raising=False)
    emit("[justrl health] WARNING step 3: x: y", "justrl health: x")
    assert capsys.readouterr().out == "[justrl health] WARNING step 3: x: y\n"


def test_alert_with_offline_wandb_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    import wandb

    run = wandb.init(project="justrl-health-test", dir=str(tmp_path))
    try:
        line = "[justrl health] WARNING step 137: thinking_rate_low: justrl/thinking_rate = 0.5625 < threshold 0.6"
        emit(line, "justrl health: thinking_rate_low", "WARN", wait_seconds=900)
        emit("[justrl health] EARLY STOP at step 139: because", "justrl early stop", "ERROR")
    finally:
        run.finish()
    out = capsys.readouterr().out.splitlines()
    assert line in out and "[justrl health] EARLY STOP at step 139: because" in out
    # The offline run file holds the alerts, ready for `wandb sync`; W&B's service process writes it,
    # so give it a moment to reach the disk.
    (record,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    deadline = time.monotonic() + 10
    while b"justrl early stop" not in record.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.2)
    data = record.read_bytes()
    assert b"justrl health: thinking_rate_low" in data and b"justrl early stop" in data
