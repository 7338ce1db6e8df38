"""Runs a command that Slurm's SIGTERM cannot kill, and turns that TERM into a save request.

Why: on scancel, preemption, requeue or the time limit's end, Slurm sends SIGTERM to every process
of the job's steps at once, then SIGKILL after KillWait (or the partition's GraceTime). Ray's
daemons and workers exit on that TERM, so the trainer's actors would die mid-step, before they can
checkpoint. A blocked signal stays blocked across fork and exec, and Ray (like the trainer) installs
TERM handlers but never unblocks it: everything the command starts keeps running. This process gets
the TERM instead and touches $JUSTRL_SAVE_REQUEST_FILE, which the trainer reads after its step in
flight: it checkpoints and exits (justrl/loop_control.py). SIGKILL cannot be blocked: nothing
outlives the job.

    python slurm/save_on_term.py [--notify PID] COMMAND [ARG ...]

--notify PID  also sends HUP to PID (the job script, on the same node), which Slurm does not
              signal on `scancel --signal=TERM` (that reaches the job's steps only).
USR2          stops the command for real (SIGKILL to its process group): the job script's way to
              end what it started, since TERM no longer does.
The exit status is the command's (128 + N when signal N ended it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from justrl.loop_control import SAVE_REQUEST_ENV


def log(message: str) -> None:
    print(f"[justrl-slurm] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def parse(argv: list[str]) -> tuple[int | None, list[str]]:
    notify = None
    if argv[:1] == ["--notify"]:
        if len(argv) < 2 or not argv[1].isdigit():
            sys.exit(f"save_on_term.py: --notify takes a process id, got {argv[1:2] or 'nothing'}")
        notify, argv = int(argv[1]), argv[2:]
    if not argv:
        sys.exit("usage: python slurm/save_on_term.py [--notify PID] COMMAND [ARG ...]")
    return notify, argv


def main(argv: list[str]) -> int:
    notify, command = parse(argv)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    child = subprocess.Popen(command, process_group=0)
    request = os.environ.get(SAVE_REQUEST_ENV)

    def on_term(signum: int, frame: object) -> None:
        if request:
            Path(request).touch()
        asked = f"asked the trainer to checkpoint after its step in flight and exit ({request})" if request else f"no {SAVE_REQUEST_ENV} to pass it on"
        log(f"TERM: kept from {command[0]} (pid {child.pid}); {asked}")
        if notify:
            try:
                os.kill(notify, signal.SIGHUP)
            except ProcessLookupError:
                pass

    def on_usr2(signum: int, frame: object) -> None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    status = child.wait()
    return 128 - status if status < 0 else status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
