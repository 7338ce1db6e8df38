"""One run at a time in a run folder.

Two `justrl-train` (or `justrl-sft`) processes in one folder (a double `sbatch`, a requeue racing a manual rerun) both
write `global_step_N/` and the metrics file. The first takes `<run folder>/justrl.lock` (its host,
pid and Slurm job id) for as long as it runs; the second refuses in one line naming the holder. A lock whose holder is gone is taken over: the holder's pid no longer
runs on this host, or the holder is this very Slurm job (SLURM_JOB_ID: Slurm requeued it, so the
holder was killed with the job). A lock of another host's process cannot be checked from here; the
refusal says how to clear it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from justrl.atomic import write_text_atomic

LOCK_FILE = "justrl.lock"


class RunFolderBusy(Exception):
    """Another live run holds the folder; the message is the one line to show."""


def _me() -> dict[str, object]:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _read(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}  # cut short by a kill while it was written: nobody can be holding it
    return holder if isinstance(holder, dict) else {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def stale_reason(holder: dict) -> str | None:
    """Why a lock's holder cannot still be running, or None when it may be."""
    if not holder:
        return "its lock file is unreadable"
    job = os.environ.get("SLURM_JOB_ID")
    if job and holder.get("slurm_job_id") == job:
        return f"it is this Slurm job ({job}), requeued"
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int) and not _pid_alive(holder["pid"]):
        return f"its pid {holder['pid']} no longer runs on {holder['host']}"
    return None


def describe(holder: dict) -> str:
    job = f", Slurm job {holder['slurm_job_id']}" if holder.get("slurm_job_id") else ""
    return f"pid {holder.get('pid')} on {holder.get('host')}{job}, since {holder.get('started')}"


def _create(path: Path) -> bool:
    """The lock appears whole or not at all: written to a temporary file, then hard-linked into place
    (link fails when the name exists), so no reader ever sees a half-written one and takes it over."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_text_atomic(tmp, json.dumps(_me()))
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _take_over(path: Path, holder: dict) -> None:
    """Move the stale lock aside by rename (one of two racers wins it), check that what was moved is
    the stale lock judged, and put a live one back if another run took the folder in between."""
    aside = path.with_name(f"{path.name}.stale.{os.getpid()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    if _read(aside) != holder:
        try:
            os.link(aside, path)  # no-clobber: a third run may already hold the folder again
        except FileExistsError:
            pass
    aside.unlink(missing_ok=True)


def acquire(run_dir: str | Path) -> Path:
    """Take the run folder's lock, or raise RunFolderBusy naming the live holder."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    for _ in range(5):
        if _create(path):
            return path
        holder = _read(path)
        if holder is None:
            continue
        reason = stale_reason(holder)
        if reason is None:
            raise RunFolderBusy(
                f"{run_dir} is in use by another run ({describe(holder)}); wait for it, use another "
                f"trainer.default_local_dir, or, if that run is gone, delete {path}"
            )
        print(f"[justrl] taking over {path}: the earlier holder ({describe(holder)}) is gone: {reason}", flush=True)
        _take_over(path, holder)
    raise RunFolderBusy(f"{path}: could not take the lock after 5 tries (other runs keep taking it); retry")


def release(path: Path, holder_pid: int | None = None) -> None:
    """Remove the lock if it is still this process's (or `holder_pid`'s: justrl-sft's lock is held
    under the pid torchrun took over by exec, and released by its worker)."""
    holder = _read(path)
    pid = os.getpid() if holder_pid is None else holder_pid
    if holder and holder.get("pid") == pid and holder.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)


@contextmanager
def holding(run_dir: str | Path) -> Iterator[Path]:
    path = acquire(run_dir)
    try:
        yield path
    finally:
        release(path)
