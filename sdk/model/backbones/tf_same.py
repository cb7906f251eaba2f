"""TensorFlow's "SAME" padding, for networks ported from TensorFlow (I3D).

The output is ceil(input / stride) and the padding total, max((out - 1) * stride + kernel -
input, 0), is split with the odd pixel *after* (asymmetric: 224 -> 112 with a 7x7 stride-2
kernel pads 2 before, 3 after). It depends on the input size, so it is computed per call.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding TensorFlow's "SAME" gives one dimension: the output is
    ceil(size / stride), the odd pixel of the total goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def tf_same_pad(x: torch.Tensor, kernel: tuple[int, int, int], stride: tuple[int, int, int],
                value: float = 0.0) -> torch.Tensor:
    """`x` (B, C, T, H, W) padded as TensorFlow's "SAME" pads it before a window of
    `kernel` moving by `stride`, with `value` (0 for convolutions, -inf for max pools)."""
    pads: list[int] = []
    for size, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride), strict=True):
        pads.extend(tf_same_pads(int(size), k, s))
    return F.pad(x, pads, value=value) if any(pads) else x
