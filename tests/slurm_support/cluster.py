"""A real Slurm on localhost for the tests: munged, slurmctld and one slurmd per simulated node.

Debian's slurmd runs several instances on one host (`slurmd -N name`, one port each), so a
two-node allocation, and with it the Ray head/worker split over `srun`, runs on one machine. Every
daemon is a child process started here and stopped by its pid; all state lives in one directory.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "squeue")
READY_TIMEOUT = 30.0
CREDENTIAL_CLOCK_SECONDS = 1.1  # Slurm compares credential and revocation times in whole seconds
# a job of partition `urgent` preempts one of `debug`: TERM, then SIGKILL this long after (a step and a save fit)
PREEMPT_GRACE_SECONDS = 60


def missing_binaries() -> list[str]:
    return [name for name in DAEMONS if shutil.which(name) is None]


def install_system_deps(repo: Path) -> str:
    """Runs .ci/system_deps.sh; returns its output (for the skip reason when it fails)."""
    result = subprocess.run(
        ["bash", str(repo / ".ci" / "system_deps.sh")], capture_output=True, text=True, timeout=900
    )
    return (result.stdout + result.stderr).strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Job:
    """What a finished (or running) job looks like to `scontrol show job`."""

    job_id: str
    fields: dict[str, str]

    @property
    def state(self) -> str:
        return self.fields["JobState"]

    @property
    def exit_code(self) -> int:
        return int(self.fields["ExitCode"].split(":")[0])

    @property
    def restarts(self) -> int:
        return int(self.fields["Restarts"])


@dataclass
class LocalSlurm:
    root: Path
    nodes: tuple[str, ...] = ("n1", "n2")
    cpus: int = 2
    pids: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def write_config(self) -> None:
        for sub in ("state", "log", *(f"spool-{n}" for n in self.nodes)):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        key = self.root / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        node_lines = "\n".join(
            f"NodeName={n} NodeHostname=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} Port={free_port()} State=UNKNOWN"
            for n in self.nodes
        )
        r = self.root
        self.conf.write_text(
            f"""ClusterName=justrltest
SlurmctldHost=localhost
SlurmctldPort={free_port()}
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket={r}/munge.socket,cred_expire=5
CredType=cred/munge
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool-%n
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd-%n.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobRequeue=1
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
KillWait=5
MinJobAge=600
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
{node_lines}
PartitionName=debug Nodes={','.join(self.nodes)} Default=YES MaxTime=INFINITE State=UP PriorityTier=1 GraceTime={PREEMPT_GRACE_SECONDS}
PartitionName=urgent Nodes={','.join(self.nodes)} MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF
"""
        )

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "wb")
        self.pids[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env)

    def start(self) -> None:
        self.write_config()
        r = self.root
        self._spawn(
            "munged",
            ["munged", "--foreground", "--force", f"--key-file={r}/munge.key", f"--socket={r}/munge.socket",
             f"--pid-file={r}/munged.pid", f"--log-file={r}/log/munged.log", f"--seed-file={r}/munged.seed"],
        )
        self._wait_for(lambda: (r / "munge.socket").exists(), "munged socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
        for node in self.nodes:
            self.start_slurmd(node)
        self._wait_for(self.all_idle, "every node idle in sinfo")

    def start_slurmd(self, node: str) -> None:
        self._spawn(f"slurmd-{node}", ["slurmd", "-D", "-N", node, "-f", str(self.conf)])

    def stop_slurmd(self, node: str) -> None:
        self._stop(f"slurmd-{node}")

    def all_idle(self) -> bool:
        out = self.run("sinfo", "-h", "-N", "-o", "%N %t", check=False).stdout
        states = dict(line.split() for line in out.splitlines() if line.strip())
        return all(states.get(n) == "idle" for n in self.nodes)

    def _wait_for(self, ready, what: str, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for name, proc in self.pids.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode} while waiting for {what}; see {self.root}/log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {timeout}s waiting for {what}; see {self.root}/log")
            time.sleep(0.2)

    def _stop(self, name: str) -> None:
        proc = self.pids.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        """Cancel what is left, then stop the daemons in reverse start order, each by its pid."""
        if "slurmctld" in self.pids:
            self.run("scancel", "--user=root", check=False)
        for name in reversed(list(self.pids)):
            self._stop(name)

    def run(self, *argv: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), capture_output=True, text=True, env=self.env, check=check, timeout=60, **kwargs)

    # --- jobs ------------------------------------------------------------------------------------

    def sbatch(self, script: Path, args: list[str], *, cwd: Path, env: dict[str, str], options: list[str]) -> str:
        result = subprocess.run(
            ["sbatch", "--parsable", *options, str(script), *args],
            capture_output=True, text=True, cwd=cwd, env={**self.env, **env}, check=True, timeout=60,
        )
        return result.stdout.strip().split(";")[0]

    def job(self, job_id: str) -> Job:
        out = self.run("scontrol", "show", "job", "-o", job_id).stdout
        return Job(job_id, dict(re.findall(r"(\w+)=(\S*)", out)))

    def wait(self, job_id: str, done, timeout: float, *, poll: float = 0.5) -> Job:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if done(job):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job.state} after {timeout}s")
            time.sleep(poll)

    def wait_finished(self, job_id: str, timeout: float) -> Job:
        return self.wait(job_id, lambda j: j.state in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"), timeout)

    def release_requeued(self, job_id: str, timeout: float) -> Job:
        """Slurm keeps a requeued batch job ineligible for two minutes; start it now instead.

        Not at once: slurmd refuses ("Job credential revoked") a launch whose credential was issued
        in the same second as the requeue revoked the old one, and fails the job. So wait for the
        node to finish the old run and for the clock to pass that second.
        """
        job = self.wait(job_id, lambda j: j.restarts >= 1 and j.state == "PENDING", timeout)
        self._wait_for(self.all_idle, "the nodes to finish the requeued run", timeout)
        time.sleep(CREDENTIAL_CLOCK_SECONDS)
        self.run("scontrol", "update", f"jobid={job_id}", "StartTime=now")
        return job
