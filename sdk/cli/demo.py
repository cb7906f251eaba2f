"""`sfc-sdk demo`: the bundled model on the bundled sample, SFC against 30-view dense.

Each mode runs in its own fresh process, so its peak memory (the resident-set
high-water mark) is its own and not the other's. Latency is the second of two
calls (the first pays one-off allocations). The SFC process then draws why SFC chose
what it chose (after its measurements), by default into the user cache.
"""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path

import click

from ..defaults import SAMPLE_CLIP, cache_dir
from ..errors import MissingExtraError


@dataclass
class DemoRun:
    mode: str
    prediction: dict
    latency_ms: float
    peak_rss_mb: float  # whole process: Python, torch, model and inference
    inference_peak_mb: float  # what inference added on top of the loaded model
    plot: str | None = None  # the SFC plot, where it was written
    plot_note: str = ""  # why there is none


def default_plot_path() -> Path:
    """Where `sfc-sdk demo` draws its plot unless told: the user cache, not the current directory."""
    return cache_dir() / "demo" / "sfc_demo.png"


def _run(mode: str, video: str, model: str | None, queue: mp.Queue, plot: str | None = None) -> None:
    try:
        from ..inference import Recognizer
        from ..inference.memory import peak_rss_mb

        rec = Recognizer(model, device="cpu")
        loaded = peak_rss_mb()
        kwargs = {"mode": "dense", "views": "10x3"} if mode == "dense" else {"mode": "sfc"}
        rec.predict(video, **kwargs)
        pred = rec.predict(video, **kwargs)
        run = DemoRun(mode, pred.to_dict(), pred.timings_ms["total"], peak_rss_mb(), peak_rss_mb() - loaded)
        if plot:  # measured already: drawing changes none of the numbers
            try:
                pred.plot(plot)
                run.plot = plot
            except MissingExtraError as e:
                run.plot_note = str(e)
        queue.put(run)
    except Exception as e:  # noqa: BLE001 - reported by the parent as one line
        queue.put(e)


def run_demo(video: str | Path = SAMPLE_CLIP, model: str | Path | None = None,
             plot: str | Path | None = None) -> list[DemoRun]:
    """SFC and 30-view dense on `video`, each in a fresh process; returns both runs. `plot`:
    where the SFC run draws its scores and kept moments (None: no plot)."""
    ctx = mp.get_context("spawn")
    runs = []
    for mode in ("sfc", "dense"):
        queue = ctx.Queue()
        args = (mode, str(video), None if model is None else str(model), queue,
                str(plot) if plot and mode == "sfc" else None)
        proc = ctx.Process(target=_run, args=args)
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
    if sfc.plot:
        lines.append(f"why SFC kept them (scores, kept frames): {sfc.plot}")
    elif sfc.plot_note:
        lines.append(f"no plot: {sfc.plot_note}")
    lines += [f"note: {n}" for n in p_sfc["notes"]]
    return "\n".join(lines)


@click.command()
@click.option("--video", type=click.Path(path_type=str), help="Another video instead of the bundled sample.")
@click.option("--model", "-m", help="Another model directory instead of the bundled one.")
@click.option("--plot", type=click.Path(path_type=str),
              help="Where to draw the SFC scores and kept moments (default: sfc_demo.png in the user cache, "
                   "~/.cache/sfc-sdk/demo/ or $SFC_SDK_CACHE/demo/).")
def demo(video: str | None, model: str | None, plot: str | None) -> None:
    """SFC against 30-view dense sampling on the bundled sample (offline)."""
    video = video or SAMPLE_CLIP
    click.echo(format_demo(run_demo(video, model, plot or default_plot_path()), video))
