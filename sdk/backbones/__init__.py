"""Backbones: 3D CNNs split into head and tail, created by name from a registry."""

from . import resnet3d, x3d  # noqa: F401  (importing registers r3d_18, r2plus1d_18, r2plus1d_tiny, x3d_s)
from .base import InputSpec, StageInfo, VideoBackbone
from .registry import BackboneEntry, backbone_entry, create_backbone, list_backbones, register_backbone

__all__ = [
    "BackboneEntry", "InputSpec", "StageInfo", "VideoBackbone",
    "backbone_entry", "create_backbone", "list_backbones", "register_backbone",
]
