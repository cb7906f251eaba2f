"""An SFC model: a split backbone plus the SFC module, and the config that rebuilds it.

`ModelConfig` is everything needed to rebuild the network and prepare its input;
it is stored as `config.json` next to `model.safetensors` (see `checkpoint.py`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import torch
from torch import nn

from .backbones import InputSpec, VideoBackbone, backbone_entry, create_backbone
from .errors import ConfigError
from .sfc import SelectiveFeatureCompression


@dataclass(frozen=True)
class SFCSettings:
    """SFC module shape and how it is run by default."""

    frames: int = 64  # T_in: frames sampled uniformly over the whole video
    ratio: int = 4  # default compression ratio (T_out = T_in / ratio)
    dim: int = 64  # width of the abstraction layer and attention
    prior: float = 1.0  # score bonus for uniformly spaced positions (see SelectiveFeatureCompression)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture, labels and preprocessing of a model; JSON-serialisable."""

    backbone: str
    labels: tuple[str, ...]
    split: str = ""  # empty: the backbone's default split point
    sfc: SFCSettings = field(default_factory=SFCSettings)
    input: InputSpec | None = None  # None: the backbone's registered preprocessing
    name: str = ""

    def __post_init__(self) -> None:
        backbone_entry(self.backbone)  # raises UnknownBackboneError with the list of names
        if not self.labels or not all(isinstance(x, str) for x in self.labels):
            raise ConfigError("labels must be a non-empty list of strings")
        if self.sfc.frames < 1 or self.sfc.ratio < 1:
            raise ConfigError("sfc.frames and sfc.ratio must be positive")

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def input_spec(self) -> InputSpec:
        return self.input or backbone_entry(self.backbone).input_spec

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["labels"] = list(self.labels)
        d["input"] = asdict(self.input_spec)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Build from parsed JSON, with a clear error for missing or ill-typed fields."""
        try:
            sfc = SFCSettings(**_known(SFCSettings, d.get("sfc", {})))
            spec = d.get("input")
            if spec is not None:
                spec = InputSpec(**{k: tuple(v) if isinstance(v, list) else v
                                    for k, v in _known(InputSpec, spec).items()})
            if not isinstance(d["labels"], list):
                raise TypeError(f"labels must be a list of class names, got {type(d['labels']).__name__}")
            return cls(backbone=d["backbone"], labels=tuple(d["labels"]), split=d.get("split", ""),
                       sfc=sfc, input=spec, name=d.get("name", ""))
        except (KeyError, TypeError, AttributeError) as e:
            raise ConfigError(f"malformed model config: {type(e).__name__}: {e}") from None


def _known(cls: type, d: Any) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise TypeError(f"{cls.__name__} must be an object, got {type(d).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise TypeError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return d


class SFCModel(nn.Module):
    """Backbone (head, tail) + SFC. `forward` is the SFC single pass; `forward_views`
    is plain dense inference with the same backbone weights."""

    def __init__(self, backbone: VideoBackbone, sfc: SelectiveFeatureCompression) -> None:
        super().__init__()
        self.backbone = backbone
        self.sfc = sfc

    @classmethod
    def from_config(cls, config: ModelConfig) -> SFCModel:
        backbone = create_backbone(config.backbone, num_classes=config.num_classes, split=config.split or None)
        sfc = SelectiveFeatureCompression(backbone.head_channels, dim=config.sfc.dim, prior=config.sfc.prior)
        return cls(backbone, sfc).eval()

    def head_length(self, frames: int) -> int:
        """Head time steps for `frames` input frames."""
        stride = self.backbone.head_temporal_stride
        if frames % stride:
            raise ConfigError(f"input frames ({frames}) must be a multiple of the head's temporal stride ({stride})")
        return frames // stride

    def forward(self, frames: torch.Tensor, ratio: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, T_in, H, W) -> logits (B, classes), kept head positions (B, T_in/stride/ratio)."""
        self.sfc.output_length(self.head_length(frames.shape[2]), ratio)  # clear error before any compute
        feats = self.backbone.forward_head(frames)
        compressed, kept = self.sfc(feats, ratio)
        return self.backbone.forward_tail(compressed), kept

    def forward_views(self, views: torch.Tensor) -> torch.Tensor:
        """(V, 3, T, H, W) standard clips -> logits (V, classes)."""
        return self.backbone(views)


def resplit(model: SFCModel, config: ModelConfig, split: str) -> tuple[SFCModel, ModelConfig]:
    """The same backbone weights with the head ending after `split` (a stage name, see
    `sfc-sdk backbones`) and a fresh, untrained SFC module sized for that stage."""
    config = replace(config, split=split)
    new = SFCModel.from_config(config)
    new.backbone.load_state_dict(model.backbone.state_dict())
    return new.eval(), config
