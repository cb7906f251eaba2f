"""The PyTorch runtime's intra-op threads on CPU (runtimes/torch_runtime.py,
SmallWorkThreads): a model whose per-call work is small runs on one thread, measured on
its first call; a user's explicit count wins. Settings, not timings: the benchmark
(benchmarks/contention.py) is the measurement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sfc_sdk.runtimes.torch_runtime import SMALL_CALL_CPU_MS, SmallWorkThreads

# Runs in a fresh process: records torch's thread count inside every convolution the
# bundled model runs (a forward hook on its first Conv3d) for predict and for a stream.
PROBE = """
import json, sys, torch
from sfc_sdk import Recognizer
clip, threads = sys.argv[1], int(sys.argv[2]) or None
before = torch.get_num_threads()
rec = Recognizer(device="cpu", threads=threads)
seen = []
conv = next(m for m in rec.runtime.network.modules() if isinstance(m, torch.nn.Conv3d))
conv.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
rec.predict(clip)
windows = list(rec.stream(clip, window_s=1.0, stride_s=0.5, max_windows=2))
print(json.dumps({"during": seen, "before": before, "after": torch.get_num_threads(), "windows": len(windows),
                  "small": rec.runtime.small_work_threads.small, "enabled": rec.runtime.small_work_threads.enabled,
                  "describe": rec.runtime.small_work_threads.describe()}))
"""


def _probe(clip: Path, threads: int = 0, **env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", PROBE, str(clip), str(threads)], capture_output=True, text=True,
                         timeout=300, env={**environ, **env})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_bundled_model_runs_on_one_thread_and_leaves_the_process_setting(run_clip):
    got = _probe(run_clip)
    assert got["enabled"] and got["small"] is True, got["describe"]
    assert got["windows"] == 2
    assert got["during"] and set(got["during"]) == {1}  # predict and every window, the halo probe too
    assert got["after"] == got["before"]  # the process's own count, restored after each call


@pytest.mark.parametrize("how", ["env", "option"])
def test_a_thread_count_the_user_chose_wins(run_clip, how):
    got = _probe(run_clip, OMP_NUM_THREADS="2") if how == "env" else _probe(run_clip, threads=2)
    assert not got["enabled"] and got["small"] is None
    assert set(got["during"]) == {2} and got["after"] == 2


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_big_work_runs_on_the_process_count_and_small_work_stays_on_one(two_threads):
    a = torch.randn(1024, 1024)

    def work(n: int) -> list[int]:  # n products of 1024^2 matrices: ~2.1 GFLOP each, on one thread
        seen = []
        for _ in range(n):
            seen.append(torch.get_num_threads())
            a @ a
        return seen

    big = SmallWorkThreads(enabled=True)
    with big.call():
        assert work(1) == [1]  # the first call is measured on one thread
    if big.call_cpu_ms < SMALL_CALL_CPU_MS:  # a CPU this fast: make the work bigger, still real
        big = SmallWorkThreads(enabled=True)
        with big.call():
            work(40)
    assert big.small is False and big.call_cpu_ms >= SMALL_CALL_CPU_MS
    with big.call():
        assert work(1) == [2]  # decided: the process's own count from now on

    small = SmallWorkThreads(enabled=True)
    with small.call(decides=False):  # a part of a pass (the halo probe) does not decide
        torch.randn(8, 8) @ torch.randn(8, 8)
    assert small.small is None
    with small.call():
        torch.randn(64, 64) @ torch.randn(64, 64)
    assert small.small is True
    with small.call():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
