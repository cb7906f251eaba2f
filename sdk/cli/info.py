"""`sfc-sdk info` and `sfc-sdk backbones`: what is installed, what can be built."""

from __future__ import annotations

import importlib
import platform
from typing import TYPE_CHECKING

import click

from ..defaults import __version__, cache_dir, default_model_dir, environment_set
from ..errors import ConfigError
from ..formats import get_runtime, list_runtimes

if TYPE_CHECKING:
    from ..runtimes import Runtime


@click.command()
@click.option("--markdown", is_flag=True, help="As the table in docs/checkpoints.md.")
def backbones(markdown: bool) -> None:
    """List the registered backbones and their split points."""
    from ..model import backbone_entry, create_backbone, list_backbones

    rows = []
    for name in list_backbones():
        entry = backbone_entry(name)
        net = create_backbone(name)
        params = sum(p.numel() for p in net.parameters()) / 1e6
        spec = entry.input_spec
        splits = [entry.default_split, *(s for s in net.split_points if s != entry.default_split)]
        variants = f" ({len(entry.variants)} variants)" if len(entry.variants) > 1 else ""
        rows.append((name, f"{params:.1f}M", f"{spec.clip_len}x{spec.crop_size}x{spec.crop_size}", splits,
                     entry.weights_layout + variants))
    if markdown:
        click.echo("| name | params | input (frames x crop) | default split | other splits | weights layout |\n"
                   "|---|---:|---|---|---|---|")
        for name, params, size, splits, layout in rows:
            others = ", ".join(f"`{s}`" for s in splits[1:])
            click.echo(f"| `{name}` | {params} | {size} | `{splits[0]}` | {others} | {layout} |")
        return
    text = [(name, params, size, ", ".join([f"[{splits[0]}]", *splits[1:]]), layout)
            for name, params, size, splits, layout in rows]
    header = ("name", "params", "input", "split (default first)", "weights layout")
    widths = [max(len(r[i]) for r in [header, *text]) for i in range(4)]
    for row in [header, *text]:
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
@click.option("--expect-digest", help="Refuse a bundle whose digest is not this one (the sha256 `convert` printed, "
              "or its first 12+ hex characters).")
def info(model: str | None, expect_digest: str | None) -> None:
    """Versions, available runtimes, the bundled model, the user cache and the SFC_SDK_* variables set."""
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
    lines.append(f"cache        {cache_dir()}")
    lines += [f"environment  {name}={value}" for name, value in environment_set().items()]
    click.echo("\n".join(lines))
    if expect_digest and not model:
        raise ConfigError("--expect-digest checks the bundle given with --model")
    if model:
        from ..inference import Recognizer

        rec = Recognizer(model, digest=expect_digest)  # the pin is checked as the bundle opens
        for k, v in rec.describe().items():
            click.echo(f"  {k:<12} {v}")
        for k, v in _bundle_lines(rec.runtime).items():
            click.echo(f"  {k:<12} {v}")


def _bundle_lines(runtime: Runtime) -> dict[str, str]:
    """A bundle's digest and the file that runs, at the precision it runs in (a TensorRT
    fp16 bundle without TensorRT: its FP32 ONNX graph in ONNX Runtime)."""
    from ..runtimes import ExportedRuntime

    if not isinstance(runtime, ExportedRuntime):
        return {}
    m, run = runtime.manifest, runtime.info()
    unsealed = "" if m.schema_version >= 2 else "  (schema 1: computed, not sealed in it; re-export to seal it)"
    return {"bundle": f"{m.format} {m.precision} for target {m.target}",
            "graph": f"{run.graph or m.model_file}, run by {run.name} on {run.device} in {run.precision}",
            "digest": m.digest + unsealed}
