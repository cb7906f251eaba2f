"""3D MobileNet and MobileNetV2 (Köpüklü, Kose, Gunduz, Rigoll: "Resource Efficient 3D
Convolutional Neural Networks", ICCV Workshops 2019) with the module layout of the
authors' public code (okankop/Efficient-3DCNNs, `models/mobilenet.py`,
`models/mobilenetv2.py`): checkpoints load with no renaming and give the same logits
(tests/model/test_efficient3d.py). Both keep the whole network in `features.0` ...
`features.N`; the stages users split at are groups of those blocks of one resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import StageInfo, VideoBackbone, global_avg_pool, init_resnet_style
from .efficient3d_common import EFFICIENT_3DCNNS, conv_bn_act
from .registry import register_backbone


class DepthwiseSeparable(nn.Module):
    """Depthwise 3x3x3 conv, BN, ReLU; pointwise conv, BN, ReLU (the reference's `Block`)."""

    def __init__(self, in_planes: int, out_planes: int, stride: int | tuple[int, int, int] = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(in_planes, in_planes, 3, stride=stride, padding=1, groups=in_planes, bias=False)
        self.bn1 = nn.BatchNorm3d(in_planes)
        self.conv2 = nn.Conv3d(in_planes, out_planes, 1, bias=False)
        self.bn2 = nn.BatchNorm3d(out_planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


def _stages(groups: list[tuple[str, int, int, int]]) -> tuple[StageInfo, ...]:
    """(name, blocks, channels, temporal stride) per stage -> StageInfos over `features.i`."""
    stages, first = [], 0
    for name, blocks, channels, stride in groups:
        stages.append(StageInfo(name, channels, stride, modules=tuple(f"features.{i}" for i in
                                                                      range(first, first + blocks))))
        first += blocks
    return tuple(stages)


class MobileNet3D(VideoBackbone):
    """features: stem conv, then depthwise-separable blocks (64, 128 x2, 256 x2, 512 x6,
    1024 x2 channels at 1.0x); classifier."""

    CFG = ((64, 1, 2), (128, 2, 2), (256, 2, 2), (512, 6, 2), (1024, 2, 1))  # channels, blocks, stride

    def __init__(self, num_classes: int = 400, width_mult: float = 1.0) -> None:
        super().__init__()
        inp = int(32 * width_mult)
        blocks: list[nn.Module] = [conv_bn_act(3, inp, stride=(1, 2, 2))]
        groups = [("stem", 1, inp, 1)]
        for i, (c, n, s) in enumerate(self.CFG):
            out = int(c * width_mult)
            for j in range(n):
                blocks.append(DepthwiseSeparable(inp, out, (s, s, s) if j == 0 else 1))
                inp = out
            groups.append((f"stage{i + 1}", n, out, s))
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(int(1024 * width_mult), num_classes))
        self.stages = _stages(groups)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(global_avg_pool(x))


class InvertedResidual(nn.Module):
    """[1x1x1 expand, BN, ReLU6,] depthwise 3x3x3, BN, ReLU6, 1x1x1 project, BN; plus the
    input when shape is kept."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = round(inp * expand_ratio)
        self.use_res_connect = stride == 1 and inp == oup
        expand = [nn.Conv3d(inp, hidden, 1, bias=False), nn.BatchNorm3d(hidden), nn.ReLU6(inplace=True)]
        self.conv = nn.Sequential(
            *(expand if expand_ratio != 1 else []),
            nn.Conv3d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm3d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv3d(hidden, oup, 1, bias=False), nn.BatchNorm3d(oup))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2_3D(VideoBackbone):  # noqa: N801 - the paper's name
    """features: stem conv, inverted residual blocks, a last 1x1x1 conv; classifier."""

    CFG = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
           (6, 320, 1, 1))  # expansion, channels, blocks, stride
    STAGES = (("stage1", 1), ("stage2", 1), ("stage3", 1), ("stage4", 2), ("stage5", 2))  # rows per stage

    def __init__(self, num_classes: int = 400, width_mult: float = 1.0) -> None:
        super().__init__()
        inp = int(32 * width_mult)
        last = int(1280 * width_mult) if width_mult > 1.0 else 1280
        blocks: list[nn.Module] = [conv_bn_act(3, inp, stride=(1, 2, 2), act=nn.ReLU6)]
        rows = []  # (blocks, channels, stride) per CFG row
        for t, c, n, s in self.CFG:
            out = int(c * width_mult)
            for j in range(n):
                blocks.append(InvertedResidual(inp, out, s if j == 0 else 1, t))
                inp = out
            rows.append((n, out, s))
        blocks.append(conv_bn_act(inp, last, kernel=1, act=nn.ReLU6))
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))
        groups, row = [("stem", 1, int(32 * width_mult), 1)], 0
        for name, count in self.STAGES:  # stages of one resolution: 96 joins 64, 320 joins 160
            part = rows[row:row + count]
            groups.append((name, sum(p[0] for p in part), part[-1][1], part[0][2]))
            row += count
        self.stages = _stages([*groups, ("conv_last", 1, last, 1)])
        init_resnet_style(self)  # the reference's He-normal (fan-out) init, written out there by hand

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(global_avg_pool(x))


@register_backbone("mobilenet_3d", default_split="stage2", input_spec=EFFICIENT_3DCNNS,
                   description="3D MobileNet (Köpüklü et al. 2019); width 0.5-2.0x",
                   weights_layout="okankop/Efficient-3DCNNs models/mobilenet.py",
                   variants=tuple({"width_mult": w} for w in (1.0, 0.5, 1.5, 2.0)))
def mobilenet_3d(num_classes: int = 400, width_mult: float = 1.0) -> MobileNet3D:
    return MobileNet3D(num_classes=num_classes, width_mult=width_mult)


@register_backbone("mobilenetv2_3d", default_split="stage3", input_spec=EFFICIENT_3DCNNS,
                   description="3D MobileNetV2 (Köpüklü et al. 2019); width 0.2-1.0x",
                   weights_layout="okankop/Efficient-3DCNNs models/mobilenetv2.py",
                   variants=tuple({"width_mult": w} for w in (1.0, 0.2, 0.45, 0.7)))
def mobilenetv2_3d(num_classes: int = 400, width_mult: float = 1.0) -> MobileNetV2_3D:
    return MobileNetV2_3D(num_classes=num_classes, width_mult=width_mult)
