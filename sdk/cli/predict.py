"""`sfc-sdk predict`: classify videos, print or append the results."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .. import logs
from ..config import DECODE_MODES, MODES, SHORT_VIDEO, read_labels
from ..errors import ConfigError, SfcError

log = logs.logger("cli")
ENGINES = ("local", "ray")  # where `predict` runs: this process, or Ray Data (predict_on_ray)


def load_recognizer(model: str | None, backbone: str | None, weights: str | None, labels: str | None,
                    device: str, runtime: str | None = None, digest: str | None = None):
    """A Recognizer for --model (a model directory or bundle) or --backbone (+ --weights, --labels)."""
    from ..inference import Recognizer

    if backbone:
        if model or digest:
            raise ConfigError("give either --model (and --expect-digest) or --backbone, not both")
        names = read_labels(labels) if labels else None
        return Recognizer.from_backbone(backbone, weights=weights, labels=names, device=device)
    if weights or labels:
        raise ConfigError("--weights and --labels go with --backbone")
    return Recognizer(model, device=device, runtime=runtime, digest=digest)


@click.command()
@click.argument("videos", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--model", "-m", help="Model directory (config.json + model.safetensors) or a bundle from "
              "`sfc-sdk convert` (directory or .tar.gz). Default: the bundled model.")
@click.option("--runtime", help="For bundles: runtime adapter instead of the manifest's (onnxruntime, openvino, ...).")
@click.option("--expect-digest", help="Refuse a bundle whose digest is not this one (the sha256 `convert` printed, "
              "or its first 12+ hex characters).")
@click.option("--backbone", help="Instead of --model: a registered backbone name (see `sfc-sdk backbones`).")
@click.option("--weights", help="With --backbone: a checkpoint (.safetensors, or a torch state dict).")
@click.option("--labels", help="With --backbone: a text file with one class name per line.")
@click.option("--mode", type=click.Choice(MODES), default="sfc",
              show_default=True,
              help="sfc: one compressed pass over the whole video; dense: clips x crops averaged.")
@click.option("--ratio", type=int, help="SFC compression ratio (default: the model's).")
@click.option("--frames", type=int, help="SFC input frames sampled over the video (default: the model's).")
@click.option("--short", type=click.Choice(SHORT_VIDEO), default="adapt",
              show_default=True,
              help="Videos with fewer frames than --frames: sample each frame once and lower the ratio "
                   "(adapt), or repeat frames (repeat, as exported bundles do).")
@click.option("--decode", type=click.Choice(DECODE_MODES), default="exact",
              show_default=True,
              help="SFC: exact decodes every sampled frame; reference skips non-reference frames (B-frames) and "
                   "takes the nearest decoded frame, under half a sampling interval away (faster on H.264/HEVC "
                   "with B-frames).")
@click.option("--views", help="With --mode dense: views, CLIPSxCROPS: 1x1, 10x1, 10x3 (default 10x3); or "
              "whole: one centre-cropped pass over the whole video, as the I3D paper tests.")
@click.option("--stream", "stream", type=int, help="For files with several video streams: the stream to read, by "
              "its index in the file (as ffprobe lists them); default: the one FFmpeg picks (the note says which).")
@click.option("--top-k", "-k", type=int, default=5, show_default=True)
@click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per video on stdout.")
@click.option("--output", "-o", type=click.Path(path_type=str),
              help="Append one JSON line per video to this file as each finishes; failures are recorded "
                   "with their reason. A re-run skips videos already done and retries those that failed.")
@click.option("--skip-failed", is_flag=True, help="With --output: a re-run also skips videos whose earlier try "
              "failed (default: retry them).")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="local: this process; ray: Ray Data (decoding in CPU tasks, inference in an actor pool; "
                   "needs --output and the ray extra).")
@click.option("--address", help="With --engine ray: the cluster to join (e.g. auto, or HOST:6379); "
              "default: start Ray on this machine.")
@click.option("--workers", type=int, help="With --engine ray: inference actors (default: from the cluster's CPUs).")
@click.option("--threads-per-worker", type=int, default=1, show_default=True,
              help="With --engine ray: each actor's runtime threads.")
@click.option("--plot", type=click.Path(path_type=str),
              help="Draw why SFC chose what it chose (selection scores over time, the kept moments and their "
                   "frames) to this image (.png, .svg, .pdf). Several videos: one file each, named PATH's stem, "
                   "'-' and the video's stem (out.png -> out-clip.png). Needs the plot extra.")
def predict(videos, model, runtime, expect_digest, backbone, weights, labels, mode, ratio, frames, short, decode,
            views, stream, top_k, device, as_json, output, skip_failed, engine, address, workers, threads_per_worker,
            plot) -> None:
    """Recognise the action in each VIDEO (files, or folders of videos)."""
    from ..inference.batch import run_batch
    from ..video.files import expand_inputs

    if engine == "ray":
        if views or stream is not None:
            raise ConfigError("--engine ray runs SFC on each file's default video stream: no --views or --stream")
        if expect_digest:  # checked here once; the workers load the same files
            load_recognizer(model, None, None, None, "cpu", runtime, expect_digest)
        return predict_on_ray(videos, model, runtime, backbone or weights or labels, mode, plot, output, address,
                              workers, threads_per_worker, top_k=top_k, ratio=ratio, frames=frames, short=short,
                              decode=decode, retry_failed=not skip_failed)
    if address or workers:
        raise ConfigError("--address and --workers go with --engine ray")
    if output and Path(output).suffix == ".parquet":
        raise ConfigError("Parquet results come from --engine ray; this job writes JSON lines (.jsonl)")

    if plot:  # before any model loads
        if mode != "sfc":
            raise ConfigError("--plot shows the moments SFC kept: it goes with --mode sfc, not dense")
        if output:
            raise ConfigError("--plot goes without --output (run the videos to plot without it)")
        from ..inference.plot import require_matplotlib

        require_matplotlib()
    rec = load_recognizer(model, backbone, weights, labels, device, runtime, expect_digest)
    videos = expand_inputs(videos)
    if not videos:
        raise ConfigError("no videos found in the given folders")
    plots = plot_paths(plot, videos) if plot else [None] * len(videos)
    kwargs = {"top_k": top_k, "mode": mode, "ratio": ratio, "frames": frames, "views": views, "short": short,
              "decode": decode, "video_stream": stream}
    if output:
        summary = run_batch(rec, videos, output, retry_failed=not skip_failed, progress=logs.show_progress(),
                            **kwargs)
        log.info(summary.line(output))
        sys.exit(1 if summary.failed else 0)
    failed = 0
    # A bad option (ConfigError) fails the same way for every video and is raised; a video
    # that cannot be read is reported in its place and the others go on.
    for video, plot_path, pred in zip(videos, plots, rec.iter_predict(videos, errors="yield", **kwargs), strict=True):
        if isinstance(pred, SfcError):
            failed += 1
            click.echo(f"error: {pred}", err=True)
            if as_json:
                click.echo(json.dumps({"source": video, "error": str(pred), "error_type": type(pred).__name__}))
            continue
        click.echo(pred.to_json() if as_json else pred.summary())
        if plot_path is not None:
            pred.plot(plot_path)
            if as_json:  # stdout stays JSON
                log.info(f"plot: {plot_path}")
            else:
                click.echo(f"  plot: {plot_path}")
    if failed:
        sys.exit(1)


def predict_on_ray(videos, model, runtime, backbone, mode, plot, output, address, workers, threads_per_worker,
                   **predict_kwargs) -> None:
    """`predict --engine ray`: the batch job on Ray (inference/ray_job.py)."""
    from ..inference.ray_job import require_ray, run_ray_job
    from ..video.files import expand_inputs

    if not output:
        raise ConfigError("--engine ray writes its results to a file: give --output results.jsonl (or .parquet)")
    if mode != "sfc" or plot or backbone:
        raise ConfigError("--engine ray runs SFC with a model directory or bundle (--model): no --mode dense, "
                          "--plot or --backbone (make a model directory with `sfc-sdk import` first)")
    require_ray()  # the missing extra in one line, before any model loads
    videos = expand_inputs(videos)
    if not videos:
        raise ConfigError("no videos found in the given folders")
    summary = run_ray_job(videos, model, output, address=address, workers=workers,
                          threads_per_worker=threads_per_worker, runtime=runtime, progress=logs.show_progress(),
                          **predict_kwargs)
    log.info(summary.line(output))
    sys.exit(1 if summary.failed else 0)


def plot_paths(plot: str, videos: list[str]) -> list[Path]:
    """Where `--plot PATH` draws each video: PATH itself for one video; for several, PATH's
    stem, '-' and the video's stem (out.png -> out-clip.png), '-2', '-3'... where stems repeat."""
    base = Path(plot)
    if len(videos) == 1:
        return [base]
    out, used = [], set()
    for video in videos:
        stem = name = f"{base.stem}-{Path(video).stem}"
        n = 2
        while name in used:
            name, n = f"{stem}-{n}", n + 1
        used.add(name)
        out.append(base.with_name(name + base.suffix))
    return out
