"""A small backbone registry in the style of timm / torchvision's `models/_api.py`.

    @register_backbone("r3d_18", default_split="layer2", input_spec=..., ...)
    def r3d_18(num_classes: int = 400) -> VideoBackbone: ...

    list_backbones()                 -> ["r2plus1d_18", "r2plus1d_tiny", "r3d_18", "x3d_s"]
    create_backbone("r3d_18", num_classes=10, split="layer3", weights="r3d.pth")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import InputSpec
from ...errors import ConfigError, UnknownBackboneError
from ..weights import load_weights
from .base import VideoBackbone


@dataclass(frozen=True)
class BackboneEntry:
    """What the registry knows about a backbone without building it."""

    name: str
    builder: Callable[..., VideoBackbone]
    default_split: str
    input_spec: InputSpec
    description: str
    weights_layout: str  # whose state-dict keys a checkpoint must use
    variants: tuple[dict[str, Any], ...] = ()  # published builder arguments (width, groups), default first


_REGISTRY: dict[str, BackboneEntry] = {}


def register_backbone(
    name: str,
    *,
    default_split: str,
    input_spec: InputSpec,
    description: str,
    weights_layout: str,
    variants: tuple[dict[str, Any], ...] = (),
) -> Callable[[Callable[..., VideoBackbone]], Callable[..., VideoBackbone]]:
    """Decorator that adds a builder `fn(num_classes, **variant) -> VideoBackbone`. `variants`:
    the builder arguments of the published checkpoints (e.g. widths and groups), default
    first; a checkpoint's variant is found among them by its tensor shapes."""

    def wrap(fn: Callable[..., VideoBackbone]) -> Callable[..., VideoBackbone]:
        if name in _REGISTRY:
            raise ValueError(f"backbone {name!r} is already registered")
        _REGISTRY[name] = BackboneEntry(name, fn, default_split, input_spec, description, weights_layout,
                                        tuple(variants))
        return fn

    return wrap


def list_backbones() -> list[str]:
    """Names of every registered backbone, sorted."""
    return sorted(_REGISTRY)


def backbone_entry(name: str) -> BackboneEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownBackboneError(
            f"unknown backbone {name!r}; available: {', '.join(list_backbones())}"
        ) from None


def create_backbone(
    name: str,
    num_classes: int = 400,
    split: str | None = None,
    weights: str | Path | None = None,
    **variant: Any,
) -> VideoBackbone:
    """Build a registered backbone, split after `split` (default: its registered
    split point), optionally loading a safetensors / torch checkpoint. `variant`: builder
    arguments such as `width_mult=0.5, groups=3` (default: the backbone's default variant;
    `sfc_sdk.model.load_checkpoint` reads them from a checkpoint)."""
    entry = backbone_entry(name)
    variant = variant or (dict(entry.variants[0]) if entry.variants else {})
    try:
        model = entry.builder(num_classes=num_classes, **variant)
    except (TypeError, ValueError, KeyError) as e:
        raise ConfigError(f"{name}: no variant {variant} ({e})") from None
    model.split = split or entry.default_split
    model.input_spec = entry.input_spec
    model.variant = dict(variant)
    if weights is not None:
        load_weights(model, weights)
    return model.eval()
