"""What the Efficient-3DCNNs family (shufflenet3d.py, mobilenet3d.py) shares: its
convolution + BatchNorm + activation blocks and the input its checkpoints were trained on."""

from __future__ import annotations

from torch import nn

from ...config import InputSpec

# The authors' training and test scripts (okankop/Efficient-3DCNNs opts.py defaults,
# run-jester.sh): 16-frame clips taking every 2nd frame, the short side scaled to 112 and
# centre-cropped to 112, pixel values 0-255 minus the ActivityNet mean and not divided by a
# standard deviation (norm_value 1, std_norm off). In this SDK's terms (x / 255 - mean) / std:
EFFICIENT_3DCNNS = InputSpec(clip_len=16, frame_stride=2, crop_size=112, resize_size=112,
                             mean=(114.7748 / 255, 107.7354 / 255, 99.4750 / 255), std=(1 / 255, 1 / 255, 1 / 255))


def conv_bn_act(inp: int, oup: int, stride: int | tuple[int, int, int] = 1, kernel: int = 3,
                act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Conv3d (no bias, 'same' padding) + BatchNorm3d + activation: keys `N.0.*`, `N.1.*`."""
    return nn.Sequential(nn.Conv3d(inp, oup, kernel, stride=stride, padding=kernel // 2, bias=False),
                         nn.BatchNorm3d(oup), act(inplace=True))
