"""Wait until every node of the Slurm allocation has joined the Ray cluster, or say which did not.

Multi-node jobs most often die in the minutes between "Ray head started" and "training started":
a worker that never joins makes veRL hang on a placement group forever. This waits with a deadline
and names the missing Slurm nodes (each node registers a `slurm_node:<name>` resource when it
starts), and stops early when the `srun` that should start a node has already exited.

Usage: wait_for_ray.py --address IP:PORT --nodes n1,n2 --cpus 64 --gpus 8 --timeout 300
                       [--watch n2=PID:LOGFILE ...]
Exit status 0 when the cluster is complete, 1 with one ERROR line otherwise.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from dataclasses import dataclass

NODE_RESOURCE_PREFIX = "slurm_node:"
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Watched:
    """The `srun` that starts Ray on one node: if it exits, that node will never join."""

    node: str
    pid: int
    log: str


def parse_watch(spec: str) -> Watched:
    node, _, rest = spec.partition("=")
    pid, _, log = rest.partition(":")
    if not node or not pid.isdigit():
        raise argparse.ArgumentTypeError(f"--watch {spec!r}: expected NODE=PID:LOGFILE")
    return Watched(node, int(pid), log)


def process_exited(pid: int) -> bool:
    """True when the process is gone or a zombie (exited, not yet reaped by the batch shell)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def joined_nodes(nodes: list[dict]) -> dict[str, dict[str, float]]:
    """Slurm node name -> Ray resources, for the alive Ray nodes started by our bootstrap."""
    joined = {}
    for node in nodes:
        if not node.get("Alive"):
            continue
        for key in node["Resources"]:
            if key.startswith(NODE_RESOURCE_PREFIX):
                joined[key[len(NODE_RESOURCE_PREFIX) :]] = node["Resources"]
    return joined


def shortfalls(expected: list[str], joined: dict[str, dict[str, float]], cpus: int, gpus: int) -> list[str]:
    """One phrase per node that is missing or joined with fewer CPUs/GPUs than the allocation gives."""
    problems = []
    for name in expected:
        resources = joined.get(name)
        if resources is None:
            problems.append(f"{name} (not joined)")
            continue
        have_gpus, have_cpus = resources.get("GPU", 0), resources.get("CPU", 0)
        if have_gpus < gpus:
            problems.append(f"{name} (has {have_gpus:g} GPU, expected {gpus})")
        elif have_cpus < cpus:
            problems.append(f"{name} (has {have_cpus:g} CPU, expected {cpus})")
    return problems


def dead_starters(watched: list[Watched], joined: dict[str, dict[str, float]]) -> list[Watched]:
    return [w for w in watched if w.node not in joined and process_exited(w.pid)]


def fail(message: str) -> int:
    print(f"ERROR: {message}", file=sys.stderr, flush=True)
    return 1


def gcs_listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=POLL_SECONDS):
            return True
    except OSError:
        return False


def connect(address: str, deadline: float) -> bool:
    """Attach as a driver once the head's GCS port answers (ray.init itself would block for minutes)."""
    import ray

    while not gcs_listening(address):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    ray.init(address=address, logging_level="ERROR", log_to_driver=False, configure_logging=False)
    return True


def wait(args: argparse.Namespace) -> int:
    import ray

    deadline = time.monotonic() + args.timeout
    if not connect(args.address, deadline):
        head_log = next((w.log for w in args.watch if w.node == args.nodes[0]), "the Ray head log")
        return fail(
            f"Ray head {args.nodes[0]} did not answer at {args.address} within {args.timeout}s; "
            f"missing node(s): {', '.join(args.nodes)}; see {head_log}"
        )
    try:
        while True:
            joined = joined_nodes(ray.nodes())
            problems = shortfalls(args.nodes, joined, args.cpus, args.gpus)
            if not problems:
                total_gpus = args.gpus * len(args.nodes)
                print(f"Ray cluster ready: {len(args.nodes)} node(s), {total_gpus} GPU, {args.cpus} CPU each", flush=True)
                return 0
            dead = dead_starters(args.watch, joined)
            if dead:
                return fail(
                    "Ray could not start on node(s) "
                    + ", ".join(f"{w.node} (its srun exited; see {w.log})" for w in dead)
                )
            if time.monotonic() >= deadline:
                logs = ", ".join(w.log for w in args.watch if w.node not in joined)
                return fail(
                    f"Ray cluster incomplete after {args.timeout}s: missing node(s): {', '.join(problems)}; "
                    f"joined: {', '.join(sorted(joined)) or 'none'}; see {logs or 'the Ray logs'}"
                )
            time.sleep(POLL_SECONDS)
    finally:
        ray.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="IP:PORT of the Ray head (GCS)")
    parser.add_argument("--nodes", required=True, type=lambda s: [n for n in s.split(",") if n])
    parser.add_argument("--cpus", type=int, default=0, help="CPUs each node must offer")
    parser.add_argument("--gpus", type=int, default=0, help="GPUs each node must offer")
    parser.add_argument("--timeout", type=int, default=300, help="seconds before giving up")
    parser.add_argument("--watch", type=parse_watch, action="append", default=[], metavar="NODE=PID:LOG")
    args = parser.parse_args(argv)
    if not args.nodes:
        return fail("--nodes is empty; expected the allocation's node names, comma separated")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    return wait(args)


if __name__ == "__main__":
    sys.exit(main())
