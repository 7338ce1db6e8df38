"""`justrl-plot`: one PNG of training curves plus the data as CSV, from either run format."""

from __future__ import annotations

import csv

import matplotlib.image as mpimg
import numpy as np
import pytest

from health_runs import healthy_run
from justrl.cli.plot import main
from justrl.health.history import load_history
from justrl.health.plot import rolling_mean, validation_keys


def read_csv(path):
    with path.open() as fh:
        return list(csv.DictReader(fh))


def assert_real_png(path):
    image = mpimg.imread(path)
    assert image.shape[:2] == (1430, 1650)
    # A blank or single-colour canvas has a handful of colours; six panels of curves have thousands.
    colours = np.unique((image[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 500


def test_plot_exp001_writes_png_and_csv(histories_dir, tmp_path, capsys):
    out = tmp_path / "plots" / "exp001.png"
    assert main([str(histories_dir / "exp001_collapse.json"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out} and {out.with_suffix('.csv')} (150 steps)"
    assert_real_png(out)
    rows = read_csv(out.with_suffix(".csv"))
    assert len(rows) == 150
    assert rows[0]["step"] == "1" and float(rows[0]["justrl/accuracy"]) == 0.76953125
    assert rows[19]["justrl/val/accuracy"] == "0.82" and rows[18]["justrl/val/accuracy"] == ""


def test_plot_from_a_run_folder_with_file_logger_output(tmp_path, monkeypatch):
    from verl.utils.tracking import Tracking

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    monkeypatch.setenv("VERL_FILE_LOGGER_PATH", str(run_dir / "healthy.jsonl"))
    tracker = Tracking(project_name="justrl", experiment_name="healthy", default_backend=["file"])
    for step, metrics in healthy_run():
        tracker.log(data=metrics, step=step)
    tracker.finish()
    monkeypatch.chdir(tmp_path)
    assert main([str(run_dir)]) == 0
    assert_real_png(tmp_path / "healthy_curves.png")
    rows = read_csv(tmp_path / "healthy_curves.csv")
    assert len(rows) == 201 and "justrl/val/MATH-500/accuracy" in rows[0]
    assert validation_keys(load_history(run_dir / "healthy.jsonl")) == {
        "AIME24": "justrl/val/AIME24/accuracy",
        "MATH-500": "justrl/val/MATH-500/accuracy",
    }


def test_rolling_mean_is_trailing():
    assert rolling_mean(np.array([1.0, 3.0, 5.0, 7.0]), window=2).tolist() == [1.0, 2.0, 4.0, 6.0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.jsonl"], "run file 'missing.jsonl' does not exist"),
        (["RUN", "--out", "curves.pdf"], "--out 'curves.pdf': expected a file name ending in .png"),
        (["EMPTY_DIR"], "is a folder with 0 .jsonl files; expected exactly one"),
    ],
)
def test_plot_errors_are_one_line(histories_dir, tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    subst = {"RUN": str(histories_dir / "exp001_collapse.json"), "EMPTY_DIR": str(tmp_path / "empty")}
    assert main([subst.get(a, a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("justrl-plot: error: ") and message in err and "\n" not in err
