"""`sfc-sdk import CKPT --arch NAME -o MODEL_DIR`: a pretrained checkpoint as a model directory.

The checkpoint's variant (width, groups) and number of classes are read from its tensors;
its preprocessing is the backbone's registered one unless given; the SFC module starts
untrained (uniform temporal subsampling), so `predict`, `train sfc`, `convert` and
`profile` take the directory at once.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..errors import ConfigError


def _floats(text: str | None, what: str) -> tuple[float, float, float] | None:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise ConfigError(f"--{what} takes three numbers separated by commas (RGB, 0-1 scale), got {text!r}")
    return values


def _variant(items: tuple[str, ...]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--variant takes KEY=VALUE (e.g. width_mult=0.5), got {item!r}")
        try:
            out[key] = int(value) if value.isdigit() else float(value)
        except ValueError:
            raise ConfigError(f"--variant {key}: a number, got {value!r}") from None
    return out


@click.command("import")
@click.argument("checkpoint", type=click.Path(path_type=str))
@click.option("--arch", required=True, help="Registered backbone of the checkpoint's layout (`sfc-sdk backbones`).")
@click.option("--labels", help="Class names: one per line, or `<index> <name>` lines (classInd.txt).")
@click.option("--variant", multiple=True, help="Builder argument, e.g. width_mult=0.5 (default: from the tensors).")
@click.option("--split", help="Stage after which the head ends (default: the backbone's).")
@click.option("--frames", type=int, help="Frames per clip the checkpoint was trained on (dense views).")
@click.option("--stride", type=int, help="Source frames between two frames of such a clip.")
@click.option("--size", type=int, help="Square crop the checkpoint was trained on.")
@click.option("--resize", type=int, help="Short side before the crop (default: scaled with --size).")
@click.option("--mean", help="Per-channel mean on the 0-1 scale, R,G,B.")
@click.option("--std", help="Per-channel standard deviation on the 0-1 scale, R,G,B.")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path), help="Model directory to write.")
@click.option("--overwrite", is_flag=True, help="Replace an existing model directory.")
def import_checkpoint(checkpoint, arch, labels, variant, split, frames, stride, size, resize, mean, std, output,
                      overwrite) -> None:
    """Make a model directory from CHECKPOINT (torchvision, pytorchvideo or Efficient-3DCNNs layout)."""
    from ..config import read_labels
    from ..model import backbone_entry, model_from_checkpoint, save_model

    if output.exists() and any(output.iterdir()) and not overwrite:
        raise ConfigError(f"{output} exists; pass --overwrite to replace it")
    spec = backbone_entry(arch).input_spec
    changes = {k: v for k, v in {"clip_len": frames, "frame_stride": stride, "crop_size": size,
                                 "mean": _floats(mean, "mean"), "std": _floats(std, "std")}.items() if v is not None}
    if size and not resize:
        resize = round(spec.resize_size * size / spec.crop_size)
    if resize:
        changes["resize_size"] = resize
    spec = replace(spec, **changes)
    if spec.resize_size < spec.crop_size or min(spec.clip_len, spec.frame_stride, spec.crop_size) < 1:
        raise ConfigError(f"input must have positive sizes and resize >= crop, got {spec}")
    names = read_labels(labels) if labels else None
    net, config = model_from_checkpoint(arch, checkpoint, labels=names, split=split or "", input_spec=spec,
                                        name=Path(checkpoint).stem, **_variant(variant))
    save_model(net, config, output, training={"stage": "import", "checkpoint": str(checkpoint),
                                              "note": "SFC module untrained: uniform temporal subsampling"})
    variant_text = ", ".join(f"{k}={v}" for k, v in config.variant.items()) or "default"
    click.echo(f"model      {output}")
    click.echo(f"backbone   {arch} ({variant_text}), {config.num_classes} classes, head ends after {config.split}")
    click.echo(f"input      {spec.clip_len} frames every {spec.frame_stride}, short side {spec.resize_size}, "
               f"crop {spec.crop_size}, mean {tuple(round(m, 4) for m in spec.mean)}, "
               f"std {tuple(round(s, 4) for s in spec.std)}")
    click.echo("sfc        untrained (uniform temporal subsampling): train it with `sfc-sdk train sfc`")
