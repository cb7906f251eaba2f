"""Videos per second of `predict --engine ray` on a Ray cluster of one node against two, on
this one machine, and the wall time of a job that loses a node.

    python -m benchmarks.ray_nodes [--rounds 2] [--clips 70]

Arms, interleaved over --rounds (median), each on a fresh cluster started with `ray start`
(its own temp dir and ports; stopped after the arm): "1 node" is a head of 2 CPUs; "2 nodes"
a head and a worker node of 1 CPU each; "2 nodes, one killed" the same, its worker node
killed (SIGKILL to every process of it) as soon as it runs part of the job. The job is the
CLI, `sfc-sdk predict CLIPS --engine ray --address HEAD --output out.jsonl`, on the
bundled model; wall time is the CLI's whole run, "once results flow" the rate from the
first result written to the last (polled from the output file every 50 ms: Ray's start,
the model loading in the driver and the actor are not in it). Both cluster shapes share
this machine's cores, so two nodes cannot be faster than one: the two-node arms measure
what the second node and its loss cost. Writes benchmarks/results/ray_nodes.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import CLI, RESULTS, WEIZMANN, command, measured, median, write_results

CLIPS = sorted(str(p) for p in WEIZMANN.glob("*/*.avi"))
RAY = Path(sys.executable).with_name("ray")
SFC = CLI
ARMS = ("1 node", "2 nodes", "2 nodes, one killed")
# No token authentication (Ray 2.60's `ray start` turns it on), no usage report, a silent
# node declared dead after about 2 s (Ray's default: about 15).
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_health_check_period_ms": "500",
           "RAY_health_check_failure_threshold": "4", "RAY_health_check_initial_delay_ms": "0"}
NOT_JOB_WORK = ("ray::IDLE", "ray::DashboardAgent", "ray::RuntimeEnvAgent")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[int]:
    """`pid` and every process under it, by parent (Ray's workers have sessions of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(children.get(found[-1], []))
    return found


class Node:
    """One `ray start --block`: every process of the node is under it."""

    def __init__(self, root: Path, name: str, cpus: int, head_port: int, head: bool) -> None:
        self.name, self.log = name, root / f"{name}.log"
        args = [str(RAY), "start", "--block", "--num-cpus", str(cpus), "--temp-dir", str(root / name),
                "--dashboard-agent-listen-port", str(free_port()), "--dashboard-agent-grpc-port", str(free_port()),
                "--metrics-export-port", str(free_port()), "--runtime-env-agent-port", str(free_port()),
                "--min-worker-port", "0", "--max-worker-port", "0"]
        args += (["--head", "--port", str(head_port), "--include-dashboard", "false", "--dashboard-port",
                  str(free_port())] if head else ["--address", f"127.0.0.1:{head_port}"])
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **RAY_ENV})
        deadline = time.monotonic() + 90
        while "Ray runtime started" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {name} node did not start:\n{self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)

    def job_work(self) -> list[str]:
        titles = []
        for pid in tree(self.proc.pid):
            try:
                titles.append(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace"))
            except OSError:
                continue
        return [t for t in titles if t.startswith("ray::") and t not in NOT_JOB_WORK]

    def kill(self) -> None:
        for pid in tree(self.proc.pid):  # all found before any dies
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()


def run_arm(arm: str, clips: list[str]) -> dict:
    root = Path(tempfile.mkdtemp(prefix="sfcbench", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    port, nodes, load = free_port(), [], os.getloadavg()[0]
    try:
        start = time.perf_counter()
        nodes.append(Node(root, "head", 2 if arm == "1 node" else 1, port, head=True))
        if arm != "1 node":
            nodes.append(Node(root, "worker", 1, port, head=False))
        cluster_s = time.perf_counter() - start
        out = root / "out.jsonl"
        start, stamps, killed_at, killed_work = time.perf_counter(), [], None, []
        job = subprocess.Popen([str(SFC), "-q", "predict", *clips, "--engine", "ray", "--address", f"127.0.0.1:{port}",
                                "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **RAY_ENV})
        while job.poll() is None:
            written = len(out.read_text().splitlines()) if out.exists() else 0
            stamps += [time.perf_counter()] * (written - len(stamps))
            if arm.endswith("killed") and killed_at is None and (work := nodes[1].job_work()):
                killed_at, killed_work = written, sorted({t.removeprefix("ray::").split(".")[0] for t in work})
                nodes[1].kill()
            time.sleep(0.05)
        wall = time.perf_counter() - start
        stderr = job.stderr.read()
        records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
        stamps += [time.perf_counter()] * (len(records) - len(stamps))
        first = stamps.count(stamps[0]) if stamps else 0  # the first batch of results, all at once
        flowing = (len(stamps) - first) / (stamps[-1] - stamps[0]) if stamps and stamps[-1] > stamps[0] else 0.0
        return {"wall_s": wall, "cluster_s": cluster_s, "rc": job.returncode, "killed_at": killed_at, "load": load,
                "killed_work": killed_work,
                "steady": flowing,
                "exactly_once": sorted(r["source"] for r in records) == sorted(clips),
                "errors": sum(r["error"] is not None for r in records), "stderr": stderr[-2000:]}
    finally:
        for node in reversed(nodes):
            node.kill()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clips", type=int, default=len(CLIPS), help="the first N Weizmann clips (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS / "ray_nodes.md")
    args = parser.parse_args()
    clips = CLIPS[:args.clips]
    runs: dict[str, list[dict]] = {arm: [] for arm in ARMS}
    for r in range(args.rounds):
        for arm in ARMS:
            run = run_arm(arm, clips)
            runs[arm].append(run)
            print(f"round {r + 1}/{args.rounds}: {arm}: {run['wall_s']:.1f} s, rc {run['rc']}, "
                  f"exactly once {run['exactly_once']}, errors {run['errors']}, killed at {run['killed_at']}",
                  flush=True)
            if run["rc"] != 0:
                print(run["stderr"], file=sys.stderr)
    write_table(args, clips, runs)


def write_table(args: argparse.Namespace, clips: list[str], runs: dict[str, list[dict]]) -> None:
    n = len(clips)
    one = median(n / r["wall_s"] for r in runs["1 node"])
    cmd = command("ray_nodes", f"--rounds {args.rounds}" + (f" --clips {n}" if n != len(CLIPS) else ""))
    lines = [f"{measured(cmd)}: `sfc-sdk predict --engine ray "
             f"--address HEAD` on {n} Weizmann clips, the bundled model; each arm on a fresh `ray start` cluster, "
             f"arms interleaved, median of {args.rounds} rounds. One machine: the two nodes share the same "
             f"{os.cpu_count()} cores as the one node of {os.cpu_count()} CPUs, so no gain is expected, and none "
             "is measured; the point of the two-node arms is the fault. In the last arm the worker node is killed "
             "(SIGKILL to every process of it) as soon as it runs part of the job; Ray restarts its work on the "
             "head (the node is declared dead after about 2 s here, about 15 s with Ray's default health checks). "
             "The kill comes early (while the worker node decodes or starts the actor), so its retried work "
             "overlaps the model's loading, and after the loss the head's processes still use both cores. "
             "The machine's 1-minute load average as the arms started (other work runs on it too): median "
             f"{median(r['load'] for rows in runs.values() for r in rows):.1f}.",
             "",
             "| arm | nodes x CPUs | wall s | videos/s | vs 1 node | videos/s once results flow | cluster start s | "
             "every video once, no errors | killed after (videos written), running |",
             "|---|---|---:|---:|---:|---:|---:|---|---|"]
    shapes = {"1 node": "1 x 2", "2 nodes": "2 x 1", "2 nodes, one killed": "2 x 1, then 1 x 1"}
    for arm, rows in runs.items():
        wall = median(r["wall_s"] for r in rows)
        rate = median(n / r["wall_s"] for r in rows)
        steady = median(r["steady"] for r in rows)
        start = median(r["cluster_s"] for r in rows)
        ok = all(r["rc"] == 0 and r["exactly_once"] and not r["errors"] for r in rows)
        killed = "; ".join(f"{r['killed_at']}, {' + '.join(r['killed_work'])}" for r in rows) \
            if arm.endswith("killed") else "-"
        lines.append(f"| {arm} | {shapes[arm]} | {wall:.1f} | {rate:.2f} | {rate / one:.2f}x | {steady:.1f} | "
                     f"{start:.1f} | {'yes' if ok else 'NO'} ({len(rows)}/{len(rows)} runs) | {killed} |")
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
