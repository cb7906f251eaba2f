"""3D ShuffleNet and ShuffleNetV2 (Köpüklü, Kose, Gunduz, Rigoll: "Resource Efficient 3D
Convolutional Neural Networks", ICCV Workshops 2019) with the module layout of the
authors' public code (okankop/Efficient-3DCNNs, `models/shufflenet.py`,
`models/shufflenetv2.py`), so their Kinetics, Jester and UCF-101 checkpoints load with no
renaming (DataParallel's `module.` prefix is stripped on reading) and give the same
logits: tests/model/test_efficient3d.py checks both against outputs recorded from the
authors' own code.

Kept as the reference has them, because checkpoints depend on them: ShuffleNet's first
unit groups its first 1x1 convolution unless its input has exactly 24 channels (so only
the 1.0x network leaves it ungrouped), and ShuffleNetV2's branches are named `banch1`
and `banch2`.
"""

from __future__ import annotations

import torch
from torch import nn

from ...errors import ConfigError
from .base import StageInfo, VideoBackbone, global_avg_pool
from .efficient3d_common import EFFICIENT_3DCNNS, conv_bn_act
from .registry import register_backbone


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of `groups` groups: (B, g * c, ...) read as (B, c, g, ...).
    One copy into a tensor of `x`'s own memory layout: a reshape would copy a channels-last
    activation into channels-first, and every convolution after it would copy it back."""
    b, c, t, h, w = x.shape
    if torch.jit.is_tracing() or torch.compiler.is_compiling():  # exporters: no in-place copy into a view
        return x.view(b, groups, c // groups, t, h, w).transpose(1, 2).reshape(b, c, t, h, w)
    out = torch.empty_like(x)
    out.view(b, c // groups, groups, t, h, w).copy_(x.view(b, groups, c // groups, t, h, w).transpose(1, 2))
    return out


class ShuffleUnit(nn.Module):
    """Grouped 1x1x1 conv, channel shuffle, depthwise 3x3x3 conv, grouped 1x1x1 conv; added
    to the input, or (stride 2) concatenated with its average-pooled copy."""

    def __init__(self, in_planes: int, out_planes: int, stride: int, groups: int) -> None:
        super().__init__()
        self.stride, self.groups = stride, groups
        mid = out_planes // 4
        if stride == 2:
            out_planes -= in_planes  # the pooled input fills the remaining channels
        first_groups = 1 if in_planes == 24 else groups
        self.conv1 = nn.Conv3d(in_planes, mid, kernel_size=1, groups=first_groups, bias=False)
        self.bn1 = nn.BatchNorm3d(mid)
        self.conv2 = nn.Conv3d(mid, mid, kernel_size=3, stride=stride, padding=1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm3d(mid)
        self.conv3 = nn.Conv3d(mid, out_planes, kernel_size=1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm3d(out_planes)
        self.relu = nn.ReLU(inplace=True)
        if stride == 2:
            self.shortcut = nn.AvgPool3d(kernel_size=(2, 3, 3), stride=2, padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = channel_shuffle(self.relu(self.bn1(self.conv1(x))), self.groups)
        out = self.bn3(self.conv3(self.bn2(self.conv2(out))))
        if self.stride == 2:
            return self.relu(torch.cat([out, self.shortcut(x)], dim=1))
        return self.relu(out + x)


SHUFFLENET_WIDTHS = {1: (24, 144, 288, 567), 2: (24, 200, 400, 800), 3: (24, 240, 480, 960),
                     4: (24, 272, 544, 1088), 8: (24, 384, 768, 1536)}  # channels per stage at 1.0x, by groups


class ShuffleNet3D(VideoBackbone):
    """conv1 + maxpool, layer1..layer3 of ShuffleUnits (4, 8, 4), classifier."""

    def __init__(self, num_classes: int = 400, groups: int = 3, width_mult: float = 1.0) -> None:
        super().__init__()
        if groups not in SHUFFLENET_WIDTHS:
            raise ConfigError(f"3D ShuffleNet groups must be one of {sorted(SHUFFLENET_WIDTHS)}, got {groups}")
        planes = [int(p * width_mult) for p in SHUFFLENET_WIDTHS[groups]]
        self.conv1 = conv_bn_act(3, planes[0], stride=(1, 2, 2), act=nn.ReLU)
        self.maxpool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)
        in_planes = planes[0]
        for i, (out_planes, blocks) in enumerate(zip(planes[1:], (4, 8, 4), strict=True)):
            units = [ShuffleUnit(in_planes if j == 0 else out_planes, out_planes, 2 if j == 0 else 1, groups)
                     for j in range(blocks)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*units))
            in_planes = out_planes
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(planes[3], num_classes))
        self.stages = (StageInfo("stem", planes[0], 2, modules=("conv1", "maxpool")),
                       *(StageInfo(f"layer{i + 1}", planes[i + 1], 2) for i in range(3)))

    def check_tail_steps(self, steps: int) -> None:
        # A strided unit's pooled shortcut (kernel 2 in time, no padding) and its strided
        # convolution agree only on an even length, at every strided unit of the tail.
        stride = 1
        for s in self.tail_stages:
            stride *= s.temporal_stride
        if steps % stride:
            raise ConfigError(f"3D ShuffleNet's tail after {self.split} needs a multiple of {stride} time steps, "
                              f"got {steps}: use a smaller ratio or more input frames")

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(global_avg_pool(x))


class ShuffleV2Unit(nn.Module):
    """Stride 1: half the channels pass, the other half go through 1x1x1, depthwise 3x3x3,
    1x1x1. Stride 2: both halves come from the whole input (`banch1` downsamples it).
    Either way the two halves are shuffled together."""

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        half = oup // 2
        if stride == 2:
            self.banch1 = nn.Sequential(
                nn.Conv3d(inp, inp, 3, stride, 1, groups=inp, bias=False), nn.BatchNorm3d(inp),
                nn.Conv3d(inp, half, 1, 1, 0, bias=False), nn.BatchNorm3d(half), nn.ReLU(inplace=True))
        branch_in = inp if stride == 2 else half
        self.banch2 = nn.Sequential(
            nn.Conv3d(branch_in, half, 1, 1, 0, bias=False), nn.BatchNorm3d(half), nn.ReLU(inplace=True),
            nn.Conv3d(half, half, 3, stride, 1, groups=half, bias=False), nn.BatchNorm3d(half),
            nn.Conv3d(half, half, 1, 1, 0, bias=False), nn.BatchNorm3d(half), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            half = x.shape[1] // 2
            out = torch.cat([x[:, :half], self.banch2(x[:, half:])], dim=1)
        else:
            out = torch.cat([self.banch1(x), self.banch2(x)], dim=1)
        return channel_shuffle(out, 2)


SHUFFLENETV2_WIDTHS = {0.25: (24, 32, 64, 128, 1024), 0.5: (24, 48, 96, 192, 1024), 1.0: (24, 116, 232, 464, 1024),
                       1.5: (24, 176, 352, 704, 1024), 2.0: (24, 224, 488, 976, 2048)}


class ShuffleNetV2_3D(VideoBackbone):  # noqa: N801 - the paper's name
    """conv1 + maxpool, `features` (units 0-3, 4-11, 12-15), conv_last, classifier."""

    def __init__(self, num_classes: int = 400, width_mult: float = 1.0) -> None:
        super().__init__()
        if width_mult not in SHUFFLENETV2_WIDTHS:
            raise ConfigError(f"3D ShuffleNetV2 width must be one of {sorted(SHUFFLENETV2_WIDTHS)}, got {width_mult}")
        channels = SHUFFLENETV2_WIDTHS[width_mult]
        self.conv1 = conv_bn_act(3, channels[0], stride=(1, 2, 2), act=nn.ReLU)
        self.maxpool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)
        units, stages, inp = [], [StageInfo("stem", channels[0], 2, modules=("conv1", "maxpool"))], channels[0]
        for i, repeats in enumerate((4, 8, 4)):
            first = len(units)
            for j in range(repeats):
                units.append(ShuffleV2Unit(inp, channels[i + 1], 2 if j == 0 else 1))
                inp = channels[i + 1]
            stages.append(StageInfo(f"stage{i + 2}", inp, 2, modules=tuple(f"features.{k}" for k in
                                                                          range(first, len(units)))))
        self.features = nn.Sequential(*units)
        self.conv_last = conv_bn_act(inp, channels[4], kernel=1, act=nn.ReLU)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(channels[4], num_classes))
        self.stages = (*stages, StageInfo("conv_last", channels[4], 1))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(global_avg_pool(x))


@register_backbone("shufflenet_3d", default_split="layer1", input_spec=EFFICIENT_3DCNNS,
                   description="3D ShuffleNet (Köpüklü et al. 2019); groups 1-8, width 0.25-2.0x",
                   weights_layout="okankop/Efficient-3DCNNs models/shufflenet.py",
                   variants=tuple({"groups": g, "width_mult": w} for g in (3, 1, 2, 4, 8)
                                  for w in (1.0, 0.5, 1.5, 2.0, 0.25)))
def shufflenet_3d(num_classes: int = 400, groups: int = 3, width_mult: float = 1.0) -> ShuffleNet3D:
    return ShuffleNet3D(num_classes=num_classes, groups=groups, width_mult=width_mult)


@register_backbone("shufflenetv2_3d", default_split="stage2", input_spec=EFFICIENT_3DCNNS,
                   description="3D ShuffleNetV2 (Köpüklü et al. 2019); width 0.25-2.0x",
                   weights_layout="okankop/Efficient-3DCNNs models/shufflenetv2.py",
                   variants=tuple({"width_mult": w} for w in (1.0, 0.25, 0.5, 1.5, 2.0)))
def shufflenetv2_3d(num_classes: int = 400, width_mult: float = 1.0) -> ShuffleNetV2_3D:
    return ShuffleNetV2_3D(num_classes=num_classes, width_mult=width_mult)
