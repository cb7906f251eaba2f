"""`sfc-sdk predict`: classify videos, print or append the results."""

from __future__ import annotations

import json
import sys

import click

from ..config import read_labels
from ..errors import ConfigError, SfcError


def load_recognizer(model: str | None, backbone: str | None, weights: str | None, labels: str | None,
                    device: str, runtime: str | None = None):
    """A Recognizer for --model (a model directory or bundle) or --backbone (+ --weights, --labels)."""
    from ..inference import Recognizer

    if backbone:
        if model:
            raise ConfigError("give either --model or --backbone, not both")
        names = read_labels(labels) if labels else None
        return Recognizer.from_backbone(backbone, weights=weights, labels=names, device=device)
    if weights or labels:
        raise ConfigError("--weights and --labels go with --backbone")
    return Recognizer(model, device=device, runtime=runtime)


@click.command()
@click.argument("videos", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--model", "-m", help="Model directory (config.json + model.safetensors) or a bundle from "
              "`sfc-sdk convert` (directory or .tar.gz). Default: the bundled model.")
@click.option("--runtime", help="For bundles: runtime adapter instead of the manifest's (onnxruntime, openvino, ...).")
@click.option("--backbone", help="Instead of --model: a registered backbone name (see `sfc-sdk backbones`).")
@click.option("--weights", help="With --backbone: a checkpoint (.safetensors, or a torch state dict).")
@click.option("--labels", help="With --backbone: a text file with one class name per line.")
@click.option("--mode", type=click.Choice(["sfc", "dense"]), default="sfc", show_default=True,
              help="sfc: one compressed pass over the whole video; dense: clips x crops averaged.")
@click.option("--ratio", type=int, help="SFC compression ratio (default: the model's).")
@click.option("--frames", type=int, help="SFC input frames sampled over the video (default: the model's).")
@click.option("--short", type=click.Choice(["adapt", "repeat"]), default="adapt", show_default=True,
              help="Videos with fewer frames than --frames: sample each frame once and lower the ratio "
                   "(adapt), or repeat frames (repeat, as exported bundles do).")
@click.option("--views", default="10x3", show_default=True, help="Dense views, CLIPSxCROPS: 1x1, 10x1, 10x3.")
@click.option("--top-k", "-k", type=int, default=5, show_default=True)
@click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per video on stdout.")
@click.option("--output", "-o", type=click.Path(path_type=str),
              help="Append one JSON line per video to this file as each finishes; a re-run skips videos "
                   "already in it, and failures are recorded with their reason.")
def predict(videos, model, runtime, backbone, weights, labels, mode, ratio, frames, short, views, top_k, device,
            as_json, output) -> None:
    """Recognise the action in each VIDEO (files, or folders of videos)."""
    from ..inference.batch import run_batch
    from ..video.files import expand_inputs

    rec = load_recognizer(model, backbone, weights, labels, device, runtime)
    videos = expand_inputs(videos)
    if not videos:
        raise ConfigError("no videos found in the given folders")
    kwargs = {"top_k": top_k, "mode": mode, "ratio": ratio, "frames": frames, "views": views, "short": short}
    if output:
        summary = run_batch(rec, videos, output, **kwargs)
        click.echo(f"{output}: {summary.done} done, {summary.failed} failed, {summary.skipped} already there "
                   f"(of {summary.total})", err=True)
        sys.exit(1 if summary.failed else 0)
    failed = 0
    for video in videos:
        try:
            pred = rec.predict(video, **kwargs)
        except SfcError as e:
            if isinstance(e, ConfigError):
                raise  # a bad option fails the same way for every video
            failed += 1
            click.echo(f"error: {e}", err=True)
            if as_json:
                click.echo(json.dumps({"source": video, "error": str(e), "error_type": type(e).__name__}))
            continue
        click.echo(pred.to_json() if as_json else pred.summary())
    if failed:
        sys.exit(1)
