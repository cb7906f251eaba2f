"""A checkpoint file into a registered backbone, its variant read from the tensors.

    backbone = load_checkpoint("shufflenet_3d", "jester_shufflenet_0.5x_G3_RGB_16_best.pth")
    backbone.variant      # {'groups': 3, 'width_mult': 0.5}, found by the tensor shapes
    net, config = model_from_checkpoint("shufflenet_3d", "ckpt.pth", labels=[...])   # + untrained SFC
    net, config = pretrained_start("ckpt.pth" or "model_dir/", labels, arch="shufflenet_3d")  # to fine-tune

Publishers release several widths (and groups) of one network under one layout, and
their file names are not a contract; the shapes are. Each registered variant is built
and compared with the checkpoint, key by key, and the one that fits exactly is loaded
(strictly: no key missing, none left over). The number of classes is the classifier's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import InputSpec, ModelConfig
from ..errors import CheckpointError
from .backbones import VideoBackbone, backbone_entry, create_backbone
from .directory import load_model
from .network import SFCModel, build_model
from .weights import check_fits, read_state_dict


def load_checkpoint(backbone: str | nn.Module, path: str | Path, *, num_classes: int | None = None,
                    **variant: Any) -> nn.Module:
    """Load `path` (safetensors, or a torch checkpoint read with weights_only=True) into
    `backbone`: a module, loaded as it is, or a registered backbone name, built with
    `num_classes` and `variant` (e.g. `width_mult=0.5, groups=3`), each read from the
    checkpoint's tensor shapes when not given. A checkpoint that fits no variant is a
    CheckpointError naming the first keys and shapes that differ from the closest one."""
    state = read_state_dict(path)
    if isinstance(backbone, nn.Module):
        check_fits(backbone, state, type(backbone).__name__)
        backbone.load_state_dict(state)
        return backbone
    entry = backbone_entry(backbone)
    candidates = [variant] if variant else [dict(v) for v in entry.variants] or [{}]
    classes = num_classes or _classes_in(state, create_backbone(backbone, num_classes=2, **candidates[0]))
    best: tuple[int, VideoBackbone] | None = None
    for candidate in candidates:
        net = create_backbone(backbone, num_classes=classes, **candidate)
        fits = _fitting_keys(net, state)
        if fits == len(net.state_dict()) == len(state):
            net.load_state_dict(state)
            return net.eval()
        if best is None or fits > best[0]:
            best = (fits, net)
    tried = "" if variant else f" (tried the published variants: {', '.join(map(_describe, candidates))})"
    try:
        check_fits(best[1], state, f"{backbone} {_describe(best[1].variant)} with {classes} classes")
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}{tried}") from None
    raise CheckpointError(f"{path}: does not fit {backbone}{tried}")  # check_fits found nothing: cannot happen


def model_from_checkpoint(backbone: str, path: str | Path | None = None, *, labels: list[str] | None = None,
                          num_classes: int | None = None, split: str = "", input_spec: InputSpec | None = None,
                          name: str = "", new_classifier: bool = False, **variant: Any
                          ) -> tuple[SFCModel, ModelConfig]:
    """An SFC model on a registered backbone with a checkpoint's weights (None: untrained), its
    SFC module untrained (uniform temporal subsampling until `train sfc`), and its config.
    `new_classifier`: when `labels` are not the checkpoint's classes, start a new final layer
    for them (fine-tuning) instead of refusing."""
    if path is not None:
        # The class count comes from the tensors; labels are checked against it afterwards,
        # so a labels file of the wrong length is named as such, not as a variant that fits nothing.
        weights = load_checkpoint(backbone, path, num_classes=None if new_classifier else num_classes, **variant)
        classes, variant = _classes_in(weights.state_dict(), weights), weights.variant
        if labels and len(labels) != classes:
            if not new_classifier:
                raise CheckpointError(f"{path} classifies {classes} classes, but {len(labels)} labels were given")
            weights.reset_classifier(len(labels))
            classes = len(labels)
    else:
        classes = len(labels) if labels else num_classes
    labels = list(labels) if labels else [f"class_{i}" for i in range(classes or 400)]
    config = ModelConfig(backbone=backbone, labels=tuple(labels), split=split, input=input_spec,
                         name=name or backbone, variant=dict(variant))
    if path is None:
        return build_model(config)
    if split:
        weights.split = split
    model = SFCModel.around(weights, config.sfc)
    return model, model.resolve(config)


def _classifier_key(net: nn.Module) -> str:
    """State-dict key of the weight of the network's last Linear layer (its classifier)."""
    name = [n for n, m in net.named_modules() if isinstance(m, nn.Linear)][-1]
    return f"{name}.weight"


def _classes_in(state: dict[str, torch.Tensor], net: nn.Module) -> int:
    key = _classifier_key(net)
    if key not in state:
        raise CheckpointError(f"checkpoint has no {key!r}: not this backbone's layout")
    return int(state[key].shape[0])


def _fitting_keys(net: nn.Module, state: dict[str, torch.Tensor]) -> int:
    return sum(1 for k, v in net.state_dict().items() if k in state and state[k].shape == v.shape)


def _describe(variant: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in variant.items()) or "default"


def pretrained_start(init: str | Path, labels: list[str], *, arch: str | None = None,
                     input_spec: InputSpec | None = None, name: str = "") -> tuple[SFCModel, ModelConfig]:
    """Where fine-tuning starts: a checkpoint file of `arch`'s layout, or a model directory
    (its backbone, split, variant and preprocessing), with a new classifier when `labels`
    differ from its classes. The preprocessing it was trained with is kept unless
    `input_spec` is given; the SFC module starts untrained."""
    init = Path(init)
    if (init / "config.json").is_file():
        net, base = load_model(init)
        if arch and arch != base.backbone:
            raise CheckpointError(f"{init} holds a {base.backbone}, not {arch}")
        backbone = net.backbone
        if tuple(labels) != base.labels:
            backbone.reset_classifier(len(labels))
        config = ModelConfig(backbone=base.backbone, labels=tuple(labels), split=base.split, sfc=base.sfc,
                             input=input_spec or base.input, name=name or base.name, variant=base.variant)
        return SFCModel.around(backbone, base.sfc), config
    if not arch:
        raise CheckpointError(f"{init}: a checkpoint file needs --arch (its layout; see `sfc-sdk backbones`)")
    return model_from_checkpoint(arch, init, labels=labels, input_spec=input_spec, name=name, new_classifier=True)
