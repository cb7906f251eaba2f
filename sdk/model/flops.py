"""Multiply-accumulate counts (GMACs) of dense and SFC inference, from a counter.

Uses torch's own `FlopCounterMode`, which counts convolutions and matrix products
(as fvcore and most papers do); MACs = FLOPs / 2. The same numbers drive the cost
model that picks a compression ratio for a device.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from .network import SFCModel


def count_gmacs(fn: Callable[..., object], *args: object) -> float:
    """GMACs of one call of `fn(*args)`."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        fn(*args)
    return counter.get_total_flops() / 2e9


@dataclass(frozen=True)
class SfcCost:
    head: float  # GMACs of the head over all T_in frames
    sfc: float  # the SFC module itself
    tail: float  # the tail on the compressed features

    @property
    def total(self) -> float:
        return self.head + self.sfc + self.tail


def _on_meta(model: SFCModel) -> SFCModel:
    """A shape-only copy: counting needs shapes, not arithmetic, so nothing is computed."""
    return copy.deepcopy(model).to("meta")


def view_gmacs(model: SFCModel, clip_len: int, crop: int) -> float:
    """GMACs of one standard clip (one dense view)."""
    return count_gmacs(_on_meta(model).forward_views, torch.zeros(1, 3, clip_len, crop, crop, device="meta"))


def sfc_gmacs(model: SFCModel, frames: int, ratio: int, crop: int) -> SfcCost:
    """GMACs of one SFC pass over `frames` frames at `ratio`, split head / SFC / tail."""
    model = _on_meta(model)
    x = torch.zeros(1, 3, frames, crop, crop, device="meta")
    with torch.no_grad():
        feats = model.backbone.forward_head(x)
        compressed, _ = model.sfc(feats, ratio)
    return SfcCost(
        head=count_gmacs(model.backbone.forward_head, x),
        sfc=count_gmacs(model.sfc, feats, ratio),
        tail=count_gmacs(model.backbone.forward_tail, compressed),
    )
