"""Measure one configuration in a fresh interpreter: `python -m sfc_sdk.devices.measure_worker SPEC_JSON`.

The worker of `measure.py` (`sfc-sdk profile`): one process per configuration.

A fresh `python -m` process rather than a multiprocessing child: its peak memory is its
own, and a spawned child that re-imports a parent's heavy main module (torch, OpenVINO)
ran OpenVINO about 2x slower here (9.9 vs 5.4 ms for the same INT8 bundle).
Prints one JSON object on its last line of stdout.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import numpy as np

from ..defaults import SAMPLE_CLIP
from ..inference import Recognizer
from ..inference.memory import peak_rss_mb


def measure_once(model: str, runtime: str | None, videos: list[list[str]], runs: int, threads: int | None) -> dict:
    kwargs = {"runtime": runtime, "threads": threads} if runtime != "torch" else {"device": "cpu"}
    rec = Recognizer(model, **kwargs)
    # Latency of the full-length input (the model's frames at its ratio), made by the same
    # recipe `predict` uses; top-1 through `predict` itself, with its defaults: a measurement
    # must score what `predict` runs (scoring short clips with frames repeated instead
    # reported 70% where predict got 20 of 20 right, and steered convert --target auto).
    full = rec.sfc_recipe(short="repeat").prepare(SAMPLE_CLIP)
    times = rec.runtime.time_sfc(full.x, full.ratio, runs)
    hits = [rec.predict(path).label == label for path, label in videos]
    return {"latency_ms": statistics.median(times), "p90_ms": float(np.percentile(times, 90)),
            "throughput_vps": 1000 / statistics.median(times), "peak_mb": peak_rss_mb(),
            "top1": float(np.mean(hits)) if hits else None, "videos": len(hits),
            "runtime": rec.runtime.info().name}


def measure_in_fresh_process(timeout: float = 1800, **spec) -> dict:
    """Run `measure_once(**spec)` in a new interpreter; failures come back as {"error": ...}."""
    try:
        done = subprocess.run([sys.executable, "-m", "sfc_sdk.devices.measure_worker", json.dumps(spec)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"measurement took over {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"measurement process failed (exit {done.returncode}): {tail}"}


if __name__ == "__main__":
    try:
        result = measure_once(**json.loads(sys.argv[1]))
    except Exception as e:  # reported in the measurement instead of stopping it
        result = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(result))
