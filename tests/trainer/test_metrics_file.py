"""veRL's file logger lands beside the checkpoints, and a rerun never truncates an earlier attempt's steps."""

from __future__ import annotations

import os

from justrl.config import compose_recipe
from justrl.metrics_file import PATH_ENV, place_metrics_file


def test_metrics_go_beside_the_checkpoints_and_earlier_attempts_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv(PATH_ENV, "")  # restored after the test; place_metrics_file sets it for real
    cfg = compose_recipe("tiny_cpu", [f"trainer.default_local_dir={tmp_path}/ckpt"])
    path = place_metrics_file(cfg)
    assert path == tmp_path / "ckpt" / "metrics.jsonl" and os.environ[PATH_ENV] == str(path)
    assert cfg.ray_kwargs.ray_init.runtime_env.env_vars[PATH_ENV] == str(path)

    path.write_text('{"step": 1, "data": {}}\n')
    assert place_metrics_file(cfg) == path and not path.exists()
    assert (tmp_path / "ckpt" / "metrics.1.jsonl").read_text() == '{"step": 1, "data": {}}\n'
    path.write_text('{"step": 2, "data": {}}\n')
    place_metrics_file(cfg)
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["metrics.1.jsonl", "metrics.2.jsonl"]


def test_a_chosen_path_is_kept_and_no_file_logger_means_no_file(tmp_path, monkeypatch):
    chosen = tmp_path / "mine.jsonl"
    monkeypatch.setenv(PATH_ENV, str(chosen))
    assert place_metrics_file(compose_recipe("tiny_cpu", [])) == chosen
    assert place_metrics_file(compose_recipe("tiny_cpu", ["logger=console"])) is None
