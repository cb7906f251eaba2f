"""The `sfc-sdk` command line. Every SfcError becomes one line on stderr and exit code 1."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import click

from .errors import ConfigError, SfcError


class _Cli(click.Group):
    """Turns the SDK's typed errors into a one-line message instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SfcError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sfc-sdk", prog_name="sfc-sdk")
def main() -> None:
    """Fast video action recognition with Selective Feature Compression."""


def _load_recognizer(model: str | None, backbone: str | None, weights: str | None, labels: str | None,
                     device: str, runtime: str | None = None):
    from .recognizer import Recognizer

    if backbone:
        if model:
            raise ConfigError("give either --model or --backbone, not both")
        names = None
        if labels:
            path = Path(labels)
            if not path.is_file():
                raise ConfigError(f"labels file not found: {labels}")
            names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        return Recognizer.from_backbone(backbone, weights=weights, labels=names, device=device)
    if weights or labels:
        raise ConfigError("--weights and --labels go with --backbone")
    return Recognizer(model, device=device, runtime=runtime)


@main.command()
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
    from .batch import expand_inputs, run_batch

    rec = _load_recognizer(model, backbone, weights, labels, device, runtime)
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


@main.command()
def backbones() -> None:
    """List the registered backbones and their split points."""
    from .backbones import backbone_entry, create_backbone, list_backbones

    click.echo(f"{'name':<14} {'params':>7}  {'input':<10} {'split (default first)':<40} weights layout")
    for name in list_backbones():
        entry = backbone_entry(name)
        net = create_backbone(name)
        params = sum(p.numel() for p in net.parameters()) / 1e6
        spec = entry.input_spec
        others = [s for s in net.split_points if s != entry.default_split]
        splits = ", ".join([f"[{entry.default_split}]", *others])
        click.echo(f"{name:<14} {params:6.1f}M  {spec.clip_len}x{spec.crop_size}x{spec.crop_size:<4} "
                   f"{splits:<40} {entry.weights_layout}")


@main.command()
@click.option("--model", "-m", help="Also describe this model directory.")
def info(model: str | None) -> None:
    """Versions, available runtimes and the bundled model."""
    import cv2
    import torch

    from . import __version__
    from .recognizer import default_model_dir
    from .runtimes import list_runtimes

    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"
    lines = [
        f"sfc-sdk      {__version__}",
        f"python       {platform.python_version()} ({platform.machine()})",
        f"torch        {torch.__version__} (CUDA: {cuda}; {torch.get_num_threads()} threads)",
        f"opencv       {cv2.__version__}",
    ]
    for entry in list_runtimes():
        state = "installed" if entry.installed() else f"missing: {entry.install_hint}"
        lines.append(f"runtime      {entry.name:<12} {state}")
    bundled = default_model_dir()
    lines.append(f"default model {bundled if bundled.is_dir() else 'not bundled in this install'}")
    click.echo("\n".join(lines))
    if model:
        from .recognizer import Recognizer

        for k, v in Recognizer(model).describe().items():
            click.echo(f"  {k:<12} {v}")


@main.command()
@click.option("--video", type=click.Path(path_type=str), help="Another video instead of the bundled sample.")
@click.option("--model", "-m", help="Another model directory instead of the bundled one.")
def demo(video: str | None, model: str | None) -> None:
    """SFC against 30-view dense sampling on the bundled sample (offline)."""
    from .demo import SAMPLE, format_demo, run_demo

    click.echo(format_demo(run_demo(video or SAMPLE, model), video or SAMPLE))


def _register_subcommands() -> None:
    from .cli_convert import convert, formats
    from .cli_devices import devices, profile
    from .cli_train import train
    from .cli_watch import watch

    main.add_command(train)
    main.add_command(convert)
    main.add_command(formats)
    main.add_command(devices)
    main.add_command(profile)
    main.add_command(watch)


_register_subcommands()

if __name__ == "__main__":
    main()
