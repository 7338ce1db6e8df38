"""benchmarks/cpu_pipeline.PeakMemory counts what a command's processes hold, including processes it
started in sessions of their own (Ray's workers), and kills those that outlive the command."""

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import psutil

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "cpu_pipeline.py"
HOLD = 300 * 2**20
# A command that starts a child in a new session holding 300 MiB, and exits leaving it running.
PARENT = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray({HOLD}); b[::4096] = b'x' * len(b[::4096]); time.sleep(60)"], start_new_session=True)
print(child.pid, flush=True)
time.sleep(4)
"""


def test_a_child_in_its_own_session_is_counted_and_killed_after_the_command():
    spec = importlib.util.spec_from_file_location("cpu_pipeline", SCRIPT)
    cpu_pipeline = sys.modules["cpu_pipeline"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cpu_pipeline)
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True)
    memory = cpu_pipeline.PeakMemory(parent.pid, 0.2)
    child = int(parent.stdout.readline())
    parent.wait(timeout=60)
    peak = memory.stop()
    assert peak > HOLD
    assert psutil.pid_exists(child)
    memory.kill_leftovers()
    time.sleep(0.5)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
