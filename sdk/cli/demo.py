"""`sfc-sdk demo`: the bundled model on the bundled sample, SFC against 30-view dense.

Each mode runs in its own fresh process, so its peak memory (the resident-set
high-water mark) is its own and not the other's. Latency is the second of two
calls (the first pays one-off allocations).
"""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path

import click

from ..defaults import SAMPLE_CLIP


@dataclass
class DemoRun:
    mode: str
    prediction: dict
    latency_ms: float
    peak_rss_mb: float  # whole process: Python, torch, model and inference
    inference_peak_mb: float  # what inference added on top of the loaded model


def _run(mode: str, video: str, model: str | None, queue: mp.Queue) -> None:
    try:
        from ..inference import Recognizer
        from ..inference.memory import peak_rss_mb

        rec = Recognizer(model, device="cpu")
        loaded = peak_rss_mb()
        kwargs = {"mode": "dense", "views": "10x3"} if mode == "dense" else {"mode": "sfc"}
        rec.predict(video, **kwargs)
        pred = rec.predict(video, **kwargs)
        queue.put(DemoRun(mode, pred.to_dict(), pred.timings_ms["total"], peak_rss_mb(), peak_rss_mb() - loaded))
    except Exception as e:  # noqa: BLE001 - reported by the parent as one line
        queue.put(e)


def run_demo(video: str | Path = SAMPLE_CLIP, model: str | Path | None = None) -> list[DemoRun]:
    """SFC and 30-view dense on `video`, each in a fresh process; returns both runs."""
    ctx = mp.get_context("spawn")
    runs = []
    for mode in ("sfc", "dense"):
        queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(mode, str(video), None if model is None else str(model), queue))
        proc.start()
        result = queue.get()
        proc.join()
        if isinstance(result, Exception):
            raise result
        runs.append(result)
    return runs


def format_demo(runs: list[DemoRun], video: str | Path) -> str:
    sfc, dense = runs
    p_sfc, p_dense = sfc.prediction, dense.prediction
    lines = [f"video: {video} ({p_sfc['num_frames']} frames at {p_sfc['fps']:g} fps)", "",
             f"{'':4}{'SFC, ratio ' + str(p_sfc['ratio']):<32}{'dense 10 clips x 3 crops (30 views)':<32}"]
    for i, (a, b) in enumerate(zip(p_sfc["top"], p_dense["top"], strict=True)):
        lines.append(f"{i + 1:>2}. {a['label']:<20}{a['score']:6.3f}      {b['label']:<20}{b['score']:6.3f}")
    lines += [
        "",
        f"{'latency':<22}{sfc.latency_ms:8.0f} ms {dense.latency_ms:14.0f} ms   "
        f"({dense.latency_ms / sfc.latency_ms:.1f}x)",
        f"{'peak memory, process':<22}{sfc.peak_rss_mb:8.0f} MB {dense.peak_rss_mb:14.0f} MB",
        f"{'peak memory, inference':<22}{sfc.inference_peak_mb:8.0f} MB {dense.inference_peak_mb:14.0f} MB   "
        f"({dense.inference_peak_mb / max(sfc.inference_peak_mb, 1e-3):.1f}x)",
        "",
        "moments SFC kept (s): " + " ".join(f"{k['time_s']:.2f}" for k in p_sfc["kept"]),
    ]
    lines += [f"note: {n}" for n in p_sfc["notes"]]
    return "\n".join(lines)


@click.command()
@click.option("--video", type=click.Path(path_type=str), help="Another video instead of the bundled sample.")
@click.option("--model", "-m", help="Another model directory instead of the bundled one.")
def demo(video: str | None, model: str | None) -> None:
    """SFC against 30-view dense sampling on the bundled sample (offline)."""
    click.echo(format_demo(run_demo(video or SAMPLE_CLIP, model), video or SAMPLE_CLIP))
