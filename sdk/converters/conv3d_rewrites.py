"""Conv3d (depthwise, grouped or dense k x k x k) and 3D pooling as 2D operations, for the
TFLite export.

The efficient 3D CNNs (3D ShuffleNet, ShuffleNetV2, MobileNet, MobileNetV2, X3D) use
depthwise k x k x k convolutions, which litert-torch cannot export at all (LiteRT has no
grouped CONV_3D), and MaxPool3d / AvgPool3d, which it exports as STABLEHLO_REDUCE_WINDOW,
a reference kernel that XNNPACK does not run. A dense CONV_3D runs, but on LiteRT's
reference kernel: the bundled 3D ShuffleNet took 30.8 ms with its 3x3x3 stem as CONV_3D
and 18.3 ms with it as three CONV_2D taps (2 threads here). All have exact 2D forms:

* a Conv3d is a sum over its kt temporal taps of Conv2d layers with the same groups (a
  depthwise one: DEPTHWISE_CONV_2D) applied to frames, time folded into the batch: tap i
  of output step j reads input frame j*st + i of the zero-padded input; the bias is added once;
* a 3D pooling box is a spatial window times a temporal one: the max of maxima is the max,
  and the mean of means is the mean (the count of a box, with or without its padding, is
  the product of the counts per axis), so a 2D pool over space then one over time is exact.

Weights are shared with the original layers; results are equal up to float rounding
(tests/converters/test_tflite_rewrites.py), and parity is checked again after export.
Factorisable convs, grouped or not, are `conv2d_rewrite`'s.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


def _plain(conv: nn.Conv3d) -> bool:
    return conv.dilation == (1, 1, 1) and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)


class Conv3dAsTaps(nn.Module):
    """The same computation as `conv` (any Conv3d without dilation, zero padding), as kt
    Conv2d layers with its groups, summed."""

    def __init__(self, conv: nn.Conv3d) -> None:
        super().__init__()
        self.weight = conv.weight  # (out, in / groups, kt, kh, kw)
        self.bias = conv.bias
        self.stride = conv.stride
        self.padding = conv.padding
        self.groups = conv.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        st, sh, sw = self.stride
        pt, ph, pw = self.padding
        kt = self.weight.shape[2]
        # Zero padding, as the Conv3d pads, once for all taps (one PAD instead of kt).
        x = F.pad(x, (pw, pw, ph, ph, pt, pt))
        b, c, t, h, w = x.shape
        steps = (t - kt) // st + 1
        frames = x.transpose(1, 2)  # (B, T, C, H, W): time next to the batch
        y = None
        for i in range(kt):
            tap = frames[:, i:i + st * (steps - 1) + 1:st].reshape(b * steps, c, h, w)
            y_i = F.conv2d(tap, self.weight[:, :, i], stride=(sh, sw), groups=self.groups)
            y = y_i if y is None else y + y_i
        if self.bias is not None:  # once, not once per tap
            y = y + self.bias[:, None, None]
        return y.reshape(b, steps, *y.shape[1:]).transpose(1, 2)


def _poolable(pool: nn.Module) -> bool:
    if isinstance(pool, nn.MaxPool3d):
        return not pool.ceil_mode and not pool.return_indices and _triple(pool.dilation) == (1, 1, 1)
    return isinstance(pool, nn.AvgPool3d) and not pool.ceil_mode and pool.divisor_override is None


def _triple(v: int | tuple[int, ...]) -> tuple[int, int, int]:
    return tuple(v) if isinstance(v, tuple | list) else (v, v, v)


class Pool3dAs2d(nn.Module):
    """The same computation as `pool` (MaxPool3d or AvgPool3d): a 2D pool over space, time
    folded into the batch, then a 2D pool over time, with space (and channels) in the width."""

    def __init__(self, pool: nn.MaxPool3d | nn.AvgPool3d) -> None:
        super().__init__()
        self.max = isinstance(pool, nn.MaxPool3d)
        self.count_include_pad = getattr(pool, "count_include_pad", True)
        self.kernel, self.stride, self.padding = (_triple(v) for v in (pool.kernel_size, pool.stride, pool.padding))

    def _pool(self, x: torch.Tensor, kernel, stride, padding) -> torch.Tensor:
        if self.max:  # max_pool2d pads with -inf: padding never wins, as in MaxPool3d
            return F.max_pool2d(x, kernel, stride, padding)
        return F.avg_pool2d(x, kernel, stride, padding, count_include_pad=self.count_include_pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kt, kh, kw), (st, sh, sw), (pt, ph, pw) = self.kernel, self.stride, self.padding
        b, c, t, h, w = x.shape
        y = self._pool(x.transpose(1, 2).reshape(b * t, c, h, w), (kh, kw), (sh, sw), (ph, pw))
        h, w = y.shape[2:]
        # (B, 1, T, C*H*W): frames stay in order along the height, so a (kt, 1) window pools over time.
        y = self._pool(y.reshape(b, 1, t, c * h * w), (kt, 1), (st, 1), (pt, 0))
        return y.reshape(b, -1, c, h, w).transpose(1, 2)


def convs_and_pools_as_2d(model: nn.Module) -> tuple[nn.Module, int, int]:
    """A copy of `model` with every Conv3d (depthwise, grouped or dense) and every MaxPool3d /
    AvgPool3d replaced by its 2D form; returns it, the number of convs and the number of pools
    replaced. Run it after `conv3d_as_conv2d`, which makes factorisable convs, grouped or
    not, a single Conv2d each (one CONV_2D rather than kt of them)."""
    model = copy.deepcopy(model)
    convs = pools = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Conv3d) and _plain(child):
                setattr(parent, name, Conv3dAsTaps(child))
                convs += 1
            elif _poolable(child):
                setattr(parent, name, Pool3dAs2d(child))
                pools += 1
    return model, convs, pools
