"""A Ray cluster of two nodes on this machine, each started by `ray start` with one CPU and
a temp dir and ports of its own: the worker node killed mid-job (every process of it, with
SIGKILL), the job finishes and writes every video exactly once."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

RAY = Path(sys.executable).with_name("ray")
SFC = Path(sys.executable).with_name("sfc-sdk")
# What every node (and the CLI) runs with: no token authentication (Ray 2.60's `ray start`
# turns it on, and the driver would need the token), no usage report, and the head
# declaring a silent node dead after about 2 s instead of about 15, so that the test waits
# on the job rather than on the failure detector.
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_health_check_period_ms": "500",
           "RAY_health_check_failure_threshold": "4", "RAY_health_check_initial_delay_ms": "0"}
# Processes of a node that run no part of a job (idle workers, the node's agents).
NOT_JOB_WORK = ("ray::IDLE", "ray::DashboardAgent", "ray::RuntimeEnvAgent")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(pid: int) -> list[int]:
    """`pid` and every process under it, by parent (Ray's workers start sessions of their
    own, so a process group misses them)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(children.get(found[-1], []))
    return found


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return ""


class Node:
    """One `ray start --block` in the foreground: its processes are all under it."""

    def __init__(self, root: Path, name: str, head_port: int, head: bool) -> None:
        self.name, self.log = name, root / f"{name}.log"
        args = [str(RAY), "start", "--block", "--num-cpus", "1", "--temp-dir", str(root / name),
                "--dashboard-agent-listen-port", str(_free_port()), "--dashboard-agent-grpc-port", str(_free_port()),
                "--metrics-export-port", str(_free_port()), "--runtime-env-agent-port", str(_free_port()),
                "--min-worker-port", "0", "--max-worker-port", "0"]  # 0: any free port, never another Ray's
        if head:
            args += ["--head", "--port", str(head_port), "--include-dashboard", "false",
                     "--dashboard-port", str(_free_port())]
        else:
            args += ["--address", f"127.0.0.1:{head_port}"]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **RAY_ENV})

    def wait_started(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while "Ray runtime started" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the {self.name} node did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)

    def job_work(self) -> list[str]:
        """What this node's Ray workers run now (their process titles)."""
        titles = (_title(pid) for pid in _tree(self.proc.pid))
        return [t for t in titles if t.startswith("ray::") and t not in NOT_JOB_WORK]

    def kill(self) -> None:
        """Every process of the node at once, with SIGKILL: found before any dies (an orphan
        would move to another parent)."""
        for pid in _tree(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()


@pytest.fixture
def two_nodes() -> Iterator[tuple[str, Node]]:
    """A head node and a worker node of 1 CPU each; stopped whatever the test does."""
    root = Path(tempfile.mkdtemp(prefix="sfcray", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    port = _free_port()
    nodes: list[Node] = []
    try:
        nodes.append(Node(root, "head", port, head=True))
        nodes[0].wait_started()
        nodes.append(Node(root, "worker", port, head=False))
        nodes[1].wait_started()
        yield f"127.0.0.1:{port}", nodes[1]
    finally:
        for node in reversed(nodes):
            node.kill()
        shutil.rmtree(root, ignore_errors=True)


def test_a_node_killed_mid_job_costs_nothing_and_each_video_is_written_once(two_nodes, weizmann_dir, tmp_path):
    address, worker = two_nodes
    clips = sorted(str(p) for p in weizmann_dir.glob("*/*.avi"))[::2][:30]
    out = tmp_path / "out.jsonl"
    job = subprocess.Popen([str(SFC), "predict", *clips, "--engine", "ray", "--address", address, "--output", str(out)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **RAY_ENV})
    try:
        killed: list[str] = []  # what the worker node ran when it was killed
        written = 0
        deadline = time.monotonic() + 240
        while job.poll() is None and not killed and time.monotonic() < deadline:
            # As soon as the node runs part of the job (decoding is over within the actor's
            # start-up on 30 clips, so waiting for results would often find it idle).
            if work := worker.job_work():
                written = len(out.read_text().splitlines()) if out.exists() else 0
                killed = work
                worker.kill()
            time.sleep(0.05)
        _, stderr = job.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert killed and written < len(clips), f"the worker node was not killed mid-job ({written} written)"
    assert job.returncode == 0 and "Traceback" not in stderr, stderr[-3000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["source"] for r in records) == sorted(clips)  # every video, exactly once
    assert all(r["error"] is None and r["label"] for r in records)
    # stderr: the progress bar and the summary only. (Ray reports the lost node and the
    # retried calls on the driver's stdout, "(raylet) ...": its error channel, always on.)
    lines = [line for line in re.split(r"[\r\n]", stderr) if line.strip() and not line.startswith("predict (ray):")]
    assert lines == [f"{out}: 30 done, 0 failed, 0 already there (of 30)"], stderr[-3000:]
