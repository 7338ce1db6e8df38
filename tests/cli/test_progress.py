"""Progress and printed lines share one output path: whole lines in a log, no line inside a bar."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

from justrl_common.progress import LineProgress

BAR_AND_LINE = """
from justrl_common.progress import progress_bar, say
with progress_bar(total=3, desc="work", unit="step") as bar:
    bar.update(1)
    say("hello from the job")
    bar.update(2)
"""


def test_in_a_log_progress_is_whole_lines_and_the_summary_lines_stay_intact(tmp_path):
    out = subprocess.run(["justrl-prep", "benchmarks", "--out", str(tmp_path), "--names", "AIME24", "AMC23"],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert "\r" not in out.stdout + out.stderr
    assert re.fullmatch(r"benchmarks: 2/2 set \(100%\), \d+s", out.stderr.strip().splitlines()[-1])
    assert [line.split(":")[0] for line in out.stdout.splitlines()] == ["benchmarks/AIME24", "benchmarks/AMC23"]


def test_lines_come_at_the_interval_and_once_at_the_end(capsys):
    for _ in LineProgress(range(3), None, 0, "grade", "response", interval_s=0):
        pass
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == ["grade: 1/3 response (33%)", "grade: 2/3 response (67%)"] + [
        "grade: 3/3 response (100%)"]
    quiet = LineProgress(None, 10, 0, "dapo", "rows", interval_s=3600)
    quiet.update(10)
    quiet.close()
    assert capsys.readouterr().err.splitlines()[0].startswith("dapo: 10/10 rows (100%)")


def test_work_cut_short_prints_no_last_line_so_the_error_stays_last(capsys):
    with LineProgress(None, 5, 0, "dapo", "rows", interval_s=3600) as bar:
        bar.update(2)
    assert capsys.readouterr().err == ""


def test_in_a_terminal_a_printed_line_never_lands_inside_the_bar():
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty has 0 columns
    child = subprocess.Popen([sys.executable, "-c", BAR_AND_LINE], stdout=terminal, stderr=terminal)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert child.wait(timeout=120) == 0
    segments = [s.strip() for s in re.split(r"[\r\n]", output.decode()) if s.strip()]
    assert "hello from the job" in segments
    assert any(s.startswith("work: 100%") for s in segments)
