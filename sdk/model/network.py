"""An SFC model: a split backbone plus the SFC module.

`ModelConfig` (sfc_sdk.config) is everything needed to rebuild the network and prepare
its input; a model directory stores it as `config.json` next to `model.safetensors`
(see `directory.py`).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from ..config import ModelConfig, SFCSettings
from ..errors import ConfigError
from .backbones import VideoBackbone, create_backbone
from .sfc import SelectiveFeatureCompression


class SFCModel(nn.Module):
    """Backbone (head, tail) + SFC. `forward` is the SFC single pass; `forward_views`
    is plain dense inference with the same backbone weights."""

    def __init__(self, backbone: VideoBackbone, sfc: SelectiveFeatureCompression) -> None:
        super().__init__()
        self.backbone = backbone
        self.sfc = sfc

    @classmethod
    def from_config(cls, config: ModelConfig) -> SFCModel:
        backbone = create_backbone(config.backbone, num_classes=config.num_classes, split=config.split or None,
                                   **config.variant)
        return cls.around(backbone, config.sfc)

    @classmethod
    def around(cls, backbone: VideoBackbone, settings: SFCSettings) -> SFCModel:
        """`backbone` (as it is: pretrained or not) with a fresh, untrained SFC module at its split."""
        sfc = SelectiveFeatureCompression(backbone.head_channels, dim=settings.dim, prior=settings.prior,
                                          attention=settings.attention, gate=settings.gate,
                                          selector=settings.selector)
        return cls(backbone, sfc).eval()

    def resolve(self, config: ModelConfig) -> ModelConfig:
        """`config` with this network's split point and input preprocessing where it leaves them open."""
        return config.resolved(self.backbone.split, self.backbone.input_spec, self.backbone.variant)

    def head_length(self, frames: int) -> int:
        """Head time steps for `frames` input frames."""
        stride = self.backbone.head_temporal_stride
        if frames % stride:
            raise ConfigError(f"input frames ({frames}) must be a multiple of the head's temporal stride ({stride})")
        return frames // stride

    def kept_steps(self, frames: int, ratio: int) -> int:
        """Time steps the tail gets from `frames` input frames at `ratio`; raises ConfigError
        for a shape the network cannot run (checked before any compute)."""
        kept = self.sfc.output_length(self.head_length(frames), ratio)
        self.backbone.check_tail_steps(kept)
        return kept

    def forward(self, frames: torch.Tensor, ratio: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, T_in, H, W) -> logits (B, classes), kept head positions (B, T_in/stride/ratio)."""
        self.kept_steps(frames.shape[2], ratio)
        return self.forward_from_head(self.backbone.forward_head(frames), ratio)

    def forward_from_head(self, feats: torch.Tensor, ratio: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Head features (B, C, T, h, w) -> logits, kept positions: the SFC module and the tail."""
        compressed, kept = self.sfc(feats, ratio)
        del feats  # the head's features are the largest activation; the tail needs none of them
        return self.backbone.forward_tail(compressed), kept

    def forward_scored(self, frames: torch.Tensor, ratio: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`forward` plus the per-head-step selection scores (B, T) the kept steps were chosen by."""
        self.kept_steps(frames.shape[2], ratio)
        compressed, kept, scores = self.sfc.compress(self.backbone.forward_head(frames), ratio)
        return self.backbone.forward_tail(compressed), kept, scores

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
