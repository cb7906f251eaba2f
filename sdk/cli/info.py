"""`sfc-sdk info` and `sfc-sdk backbones`: what is installed, what can be built."""

from __future__ import annotations

import importlib
import platform

import click

from ..defaults import __version__, default_model_dir
from ..formats import get_runtime, list_runtimes


@click.command()
def backbones() -> None:
    """List the registered backbones and their split points."""
    from ..model import backbone_entry, create_backbone, list_backbones

    rows = []
    for name in list_backbones():
        entry = backbone_entry(name)
        net = create_backbone(name)
        params = sum(p.numel() for p in net.parameters()) / 1e6
        spec = entry.input_spec
        splits = ", ".join([f"[{entry.default_split}]", *(s for s in net.split_points if s != entry.default_split)])
        variants = f" ({len(entry.variants)} variants)" if len(entry.variants) > 1 else ""
        rows.append((name, f"{params:.1f}M", f"{spec.clip_len}x{spec.crop_size}x{spec.crop_size}", splits,
                     entry.weights_layout + variants))
    header = ("name", "params", "input", "split (default first)", "weights layout")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4])


def _torch_line() -> str:
    """torch's version and GPU, or how to install it; a bundle-only install has none."""
    spec = get_runtime("torch")
    if not spec.installed():
        return f"not installed (needed for model directories, training, converting: {spec.install_hint})"
    try:
        torch = importlib.import_module("torch")
    except (ImportError, OSError) as e:  # installed but broken
        return f"installed but does not import ({type(e).__name__}: {e})"
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"
    return f"{torch.__version__} (CUDA: {cuda}; {torch.get_num_threads()} threads)"


@click.command()
@click.option("--model", "-m", help="Also describe this model directory or bundle.")
def info(model: str | None) -> None:
    """Versions, available runtimes and the bundled model."""
    import cv2

    lines = [
        f"sfc-sdk      {__version__}",
        f"python       {platform.python_version()} ({platform.machine()})",
        f"torch        {_torch_line()}",
        f"opencv       {cv2.__version__}",
    ]
    for spec in list_runtimes():
        state = "installed" if spec.installed() else f"missing: {spec.install_hint}"
        lines.append(f"runtime      {spec.name:<12} {state}")
    bundled = default_model_dir()
    lines.append(f"default model {bundled if bundled.is_dir() else 'not bundled in this install'}")
    click.echo("\n".join(lines))
    if model:
        from ..inference import Recognizer

        for k, v in Recognizer(model).describe().items():
            click.echo(f"  {k:<12} {v}")
