"""Backbones: 3D CNNs split into head and tail, created by name from a registry.

A new backbone is one file in this folder whose builder carries `@register_backbone`:
every module here is imported, and so registered, when the package is, with no list
to edit. (A backbone defined outside the package registers when its own module is
imported.)
"""

import importlib
import pkgutil

from ...config import InputSpec
from .base import HEAD_CHUNK_STEPS, StageInfo, VideoBackbone
from .registry import BackboneEntry, backbone_entry, create_backbone, list_backbones, register_backbone

_NOT_BACKBONES = {"base", "registry"}
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _NOT_BACKBONES:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "HEAD_CHUNK_STEPS", "BackboneEntry", "InputSpec", "StageInfo", "VideoBackbone",
    "backbone_entry", "create_backbone", "list_backbones", "register_backbone",
]
