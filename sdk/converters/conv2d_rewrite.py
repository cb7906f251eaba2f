"""Factorised 3D convolutions as 2D convolutions, for runtimes whose CONV_3D is slow.

(2+1)D networks use only (1, k, k) spatial, (k, 1, 1) temporal and (1, 1, 1) pointwise
Conv3d layers. Each is exactly a Conv2d on a reshaped tensor: spatial convs fold time
into the batch, temporal ones fold space into width. LiteRT runs CONV_2D with XNNPACK
but CONV_3D with a plain reference kernel, so the TFLite converter applies this rewrite
(weights are shared, results equal up to float rounding; parity is checked after export).

Groups carry over unchanged: a grouped Conv3d of one of these kinds is the same grouped
Conv2d. That is how grouped 1x1x1 convs (3D ShuffleNet) and depthwise (k, 1, 1) ones (X3D's
stem) export at all: litert-torch cannot write a grouped CONV_3D, while grouped CONV_2D and
DEPTHWISE_CONV_2D run in XNNPACK. The weights stay as they are rather than expanded to a
block-diagonal dense conv: a 3-group 1x1 conv alone ran 1.6x faster grouped, and the Jester
3D ShuffleNet as a whole equally fast (30 ms either way, 2 threads here).
Other convs (depthwise, grouped or dense k x k x k ones) are `conv3d_rewrites`'.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


def _factorisable(conv: nn.Conv3d) -> bool:
    kt, kh, kw = conv.kernel_size
    pt, ph, pw = conv.padding if isinstance(conv.padding, tuple) else (conv.padding,) * 3
    ok_kind = (kt == 1 and pt == 0) or (kh == kw == 1 and ph == pw == 0)
    return (ok_kind and conv.dilation == (1, 1, 1) and conv.padding_mode == "zeros"
            and not isinstance(conv.padding, str))


class Conv3dAs2d(nn.Module):
    """The same computation as `conv` (a factorisable Conv3d), with Conv2d kernels."""

    def __init__(self, conv: nn.Conv3d) -> None:
        super().__init__()
        self.weight = conv.weight
        self.bias = conv.bias
        self.kernel = conv.kernel_size
        self.stride = conv.stride
        self.padding = conv.padding
        self.groups = conv.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kt, kh, kw = self.kernel
        st, sh, sw = self.stride
        pt, ph, pw = self.padding
        if kt == 1:  # spatial (or pointwise): time folded into the batch
            if st > 1:
                x = x[:, :, ::st]
            b, c, t, h, w = x.shape
            y = x.transpose(1, 2).reshape(b * t, c, h, w)
            y = F.conv2d(y, self.weight[:, :, 0], self.bias, stride=(sh, sw), padding=(ph, pw), groups=self.groups)
            return y.reshape(b, t, y.shape[1], y.shape[2], y.shape[3]).transpose(1, 2)
        # temporal: space folded into the width
        if sh > 1 or sw > 1:
            x = x[:, :, :, ::sh, ::sw]
        b, c, t, h, w = x.shape
        y = F.conv2d(x.reshape(b, c, t, h * w), self.weight[..., 0], self.bias, stride=(st, 1), padding=(pt, 0),
                     groups=self.groups)
        return y.reshape(b, y.shape[1], y.shape[2], h, w)


def conv3d_as_conv2d(model: nn.Module) -> tuple[nn.Module, int]:
    """A copy of `model` with every factorisable Conv3d replaced; returns it and the count."""
    model = copy.deepcopy(model)
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Conv3d) and _factorisable(child):
                setattr(parent, name, Conv3dAs2d(child))
                replaced += 1
    return model, replaced
