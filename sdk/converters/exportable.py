"""The module every converter exports: the SFC single pass at one fixed shape.

Exported graphs are static: one input length T_in and one compression ratio per
export (TFLite requires it; for the others it lets the compiler fold shapes). The
graph takes preprocessed frames and returns logits and the kept head positions:

    frames (1, 3, T_in, crop, crop) float32 -> logits (1, classes) float32
                                            -> kept   (1, K)      int32
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from ..model import HEAD_CHUNK_STEPS, SFCModel

INPUT_NAME = "frames"
OUTPUT_NAMES = ("logits", "kept")


@dataclass(frozen=True)
class ExportShape:
    """The one shape an export is built for."""

    frames: int  # T_in
    ratio: int
    crop: int
    head_stride: int  # input frames per head time step
    batch: int = 1  # 1 for SFC; views per call for the dense baseline (`ExportableClips`)

    @property
    def input_shape(self) -> tuple[int, int, int, int, int]:
        return (self.batch, 3, self.frames, self.crop, self.crop)

    @property
    def kept(self) -> int:
        return self.frames // self.head_stride // self.ratio

    def example(self) -> torch.Tensor:
        return torch.zeros(self.input_shape)


class ExportableSFC(nn.Module):
    """`SFCModel.forward` with the ratio bound, so the graph has one tensor input."""

    output_names = OUTPUT_NAMES

    def __init__(self, model: SFCModel, ratio: int) -> None:
        super().__init__()
        self.model = model
        self.ratio = ratio
        # The wrapper itself in eval mode too: exporters restore the top module's mode on
        # every submodule afterwards, which would leave the network training (BatchNorm
        # on batch statistics) for whatever runs it next.
        self.eval()

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(frames, self.ratio)

    def with_model(self, model: SFCModel) -> ExportableSFC:
        """The same export around a rewritten copy of the network (e.g. for TFLite)."""
        return ExportableSFC(model, self.ratio)

    def with_chunked_head(self, steps: int = HEAD_CHUNK_STEPS) -> ExportableSFC:
        """The same export with the head run `steps` head steps at a time where the backbone
        offers that (`VideoBackbone.make_chunked_head`; I3D's stem), else this one. Same
        outputs to float rounding; a runtime that plans its memory (ONNX Runtime, OpenVINO)
        then holds a few chunks of the stem's activations instead of all of them: I3D over
        256 frames took 474 MB instead of 1802 in ONNX Runtime, 210 instead of 799 in OpenVINO
        (benchmarks/results/i3d_export_memory.md)."""
        if self.model.backbone.make_chunked_head(steps) is None:  # (eval: this wrapper set it)
            return self
        model = copy.deepcopy(self.model).eval()
        model.backbone.chunked_head = model.backbone.make_chunked_head(steps)
        return ExportableSFC(model, self.ratio)


class ExportableClips(nn.Module):
    """The dense baseline as a graph: standard clips (B, 3, clip_len, crop, crop) ->
    logits (B, classes). Exported by the speed benchmark so dense sampling runs on the
    same runtime as SFC; bundles hold the SFC pass only."""

    output_names = ("logits",)

    def __init__(self, model: SFCModel) -> None:
        super().__init__()
        self.model = model
        self.eval()  # see ExportableSFC

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.model.forward_views(clips)

    def with_model(self, model: SFCModel) -> ExportableClips:
        return ExportableClips(model)


def export_shape(model: SFCModel, config: ModelConfig, ratio: int | None = None,
                 frames: int | None = None) -> ExportShape:
    """Validated export shape; defaults come from the model's config."""
    ratio = ratio or config.sfc.ratio
    frames = frames or config.sfc.frames
    model.kept_steps(frames, ratio)  # raises unless the network runs this shape
    if ratio < 1:
        raise ConfigError(f"ratio must be positive, got {ratio}")
    return ExportShape(frames=frames, ratio=ratio, crop=config.input_spec.crop_size,
                       head_stride=model.backbone.head_temporal_stride)


def short_shapes(model: SFCModel, shape: ExportShape) -> list[ExportShape]:
    """The shorter inputs a bundle carries beside `shape`: k/ratio of its frames at ratio k
    for k < ratio, so the tail gets as many steps (the PyTorch path's rule for videos
    shorter than the input), where the network runs them."""
    if shape.frames % shape.ratio:
        return []
    unit = shape.frames // shape.ratio
    out = []
    for k in range(1, shape.ratio):
        try:
            model.kept_steps(unit * k, k)
        except ConfigError:
            continue
        out.append(replace(shape, frames=unit * k, ratio=k))
    return out
