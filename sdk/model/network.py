"""An SFC model: a split backbone plus the SFC module.

`ModelConfig` (sfc_sdk.config) is everything needed to rebuild the network and prepare
its input; a model directory stores it as `config.json` next to `model.safetensors`
(see `directory.py`).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from .backbones import VideoBackbone, create_backbone
from .sfc import SelectiveFeatureCompression
from .weights import load_weights


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

    def resolve(self, config: ModelConfig) -> ModelConfig:
        """`config` with this network's split point and input preprocessing where it leaves them open."""
        return config.resolved(self.backbone.split, self.backbone.input_spec)

    def head_length(self, frames: int) -> int:
        """Head time steps for `frames` input frames."""
        stride = self.backbone.head_temporal_stride
        if frames % stride:
            raise ConfigError(f"input frames ({frames}) must be a multiple of the head's temporal stride ({stride})")
        return frames // stride

    def forward(self, frames: torch.Tensor, ratio: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, T_in, H, W) -> logits (B, classes), kept head positions (B, T_in/stride/ratio)."""
        self.sfc.output_length(self.head_length(frames.shape[2]), ratio)  # clear error before any compute
        return self.forward_from_head(self.backbone.forward_head(frames), ratio)

    def forward_from_head(self, feats: torch.Tensor, ratio: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Head features (B, C, T, h, w) -> logits, kept positions: the SFC module and the tail."""
        compressed, kept = self.sfc(feats, ratio)
        return self.backbone.forward_tail(compressed), kept

    def forward_views(self, views: torch.Tensor) -> torch.Tensor:
        """(V, 3, T, H, W) standard clips -> logits (V, classes)."""
        return self.backbone(views)


def build_model(config: ModelConfig) -> tuple[SFCModel, ModelConfig]:
    """A fresh network for `config`, and the config with the backbone's defaults filled in."""
    model = SFCModel.from_config(config)
    return model, model.resolve(config)


def resplit(model: SFCModel, config: ModelConfig, split: str) -> tuple[SFCModel, ModelConfig]:
    """The same backbone weights with the head ending after `split` (a stage name, see
    `sfc-sdk backbones`) and a fresh, untrained SFC module sized for that stage."""
    new, config = build_model(replace(config, split=split))
    new.backbone.load_state_dict(model.backbone.state_dict())
    return new.eval(), config


def model_from_backbone(name: str, weights: str | None = None, labels: list[str] | None = None,
                        num_classes: int | None = None, split: str = "") -> tuple[SFCModel, ModelConfig]:
    """A registered backbone, optionally with a checkpoint's weights, and an untrained SFC
    module (uniform temporal subsampling until it is trained)."""
    if labels is None:
        labels = [f"class_{i}" for i in range(num_classes or 400)]
    model, config = build_model(ModelConfig(backbone=name, labels=tuple(labels), split=split, name=name))
    if weights is not None:
        load_weights(model.backbone, weights)
    return model, config
