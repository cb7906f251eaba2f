"""3D ResNets with torchvision's exact module layout (`torchvision.models.video`).

State-dict keys and shapes are identical to torchvision's `r3d_18` and
`r2plus1d_18`, so a torchvision checkpoint loads with no renaming and gives the
same logits (checked against ../shared/oracles in tests). `r2plus1d_tiny` is the
same family scaled down (1 block per stage, widths 16-32-64-128, 0.42 GMAC per
16x64x64 clip) for tests and the SDK's bundled model.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ...config import InputSpec
from .base import StageInfo, VideoBackbone, global_avg_pool, init_resnet_style
from .registry import register_backbone

# Kinetics-400 statistics used by torchvision's video models.
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


class Conv3DSimple(nn.Conv3d):
    """Full 3x3x3 convolution (R3D)."""

    def __init__(self, in_planes: int, out_planes: int, midplanes: int | None = None, stride: int = 1) -> None:
        super().__init__(in_planes, out_planes, kernel_size=(3, 3, 3), stride=stride, padding=1, bias=False)


class Conv2Plus1D(nn.Sequential):
    """(1,3,3) spatial then (3,1,1) temporal convolution (R(2+1)D)."""

    def __init__(self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv3d(in_planes, midplanes, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False),
            nn.BatchNorm3d(midplanes),
            nn.ReLU(inplace=True),
            nn.Conv3d(midplanes, out_planes, (3, 1, 1), stride=(stride, 1, 1), padding=(1, 0, 0), bias=False),
        )


ConvBuilder = Callable[..., nn.Module]


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, conv_builder: ConvBuilder, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        # torchvision's choice of R(2+1)D mid width keeps parameters equal to R3D's.
        midplanes = (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)
        self.conv1 = nn.Sequential(conv_builder(inplanes, planes, midplanes, stride), nn.BatchNorm3d(planes),
                                   nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv_builder(planes, planes, midplanes), nn.BatchNorm3d(planes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + residual)


class BasicStem(nn.Sequential):
    """R3D stem: one 3x7x7 convolution."""

    def __init__(self, width: int = 64) -> None:
        super().__init__(
            nn.Conv3d(3, width, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(width),
            nn.ReLU(inplace=True),
        )


class R2Plus1dStem(nn.Sequential):
    """R(2+1)D stem: 1x7x7 spatial then 3x1x1 temporal convolution."""

    def __init__(self, width: int = 64, mid: int = 45) -> None:
        super().__init__(
            nn.Conv3d(3, mid, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(mid),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid, width, (3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(width),
            nn.ReLU(inplace=True),
        )


class VideoResNet(VideoBackbone):
    """torchvision's VideoResNet (stem, layer1..layer4, avgpool, fc) as a split backbone."""

    def __init__(self, stem: nn.Module, conv_builder: ConvBuilder, layers: list[int],
                 widths: tuple[int, int, int, int] = (64, 128, 256, 512), num_classes: int = 400) -> None:
        super().__init__()
        self.inplanes = stem_width = widths[0]
        self.stem = stem
        self.layer1 = self._make_layer(conv_builder, widths[0], layers[0], stride=1)
        self.layer2 = self._make_layer(conv_builder, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(conv_builder, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(conv_builder, widths[3], layers[3], stride=2)
        self.fc = nn.Linear(widths[3], num_classes)
        self.stages = (
            StageInfo("stem", stem_width, 1),
            StageInfo("layer1", widths[0], 1),
            StageInfo("layer2", widths[1], 2),
            StageInfo("layer3", widths[2], 2),
            StageInfo("layer4", widths[3], 2),
        )
        init_resnet_style(self)  # as torchvision

    def _make_layer(self, conv_builder: ConvBuilder, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv3d(self.inplanes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm3d(planes),
            )
        layers = [BasicBlock(self.inplanes, planes, conv_builder, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes, conv_builder) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(global_avg_pool(x))


KINETICS_112 = InputSpec(clip_len=16, frame_stride=2, crop_size=112, resize_size=128,
                         mean=KINETICS_MEAN, std=KINETICS_STD)


@register_backbone("r3d_18", default_split="layer2", input_spec=KINETICS_112,
                   description="R3D-18 (Tran et al. 2018), torchvision layout, 33.4M params",
                   weights_layout="torchvision.models.video.r3d_18")
def r3d_18(num_classes: int = 400) -> VideoResNet:
    return VideoResNet(BasicStem(), Conv3DSimple, [2, 2, 2, 2], num_classes=num_classes)


@register_backbone("r2plus1d_18", default_split="layer2", input_spec=KINETICS_112,
                   description="R(2+1)D-18 (Tran et al. 2018), torchvision layout, 31.5M params",
                   weights_layout="torchvision.models.video.r2plus1d_18")
def r2plus1d_18(num_classes: int = 400) -> VideoResNet:
    return VideoResNet(R2Plus1dStem(), Conv2Plus1D, [2, 2, 2, 2], num_classes=num_classes)


@register_backbone("r2plus1d_tiny", default_split="layer2",
                   # 64x64 crops: 2.5x cheaper to train than 80x80 on a 2-core CPU, and no less
                   # accurate on Weizmann (leave-one-actor-out validation, see benchmarks/).
                   input_spec=InputSpec(clip_len=16, frame_stride=2, crop_size=64, resize_size=80,
                                        mean=KINETICS_MEAN, std=KINETICS_STD),
                   description="R(2+1)D scaled down: 1 block per stage, widths 16-32-64-128, ~0.9M params",
                   weights_layout="sfc_sdk r2plus1d_tiny (torchvision VideoResNet naming)")
def r2plus1d_tiny(num_classes: int = 400) -> VideoResNet:
    return VideoResNet(R2Plus1dStem(width=16, mid=12), Conv2Plus1D, [1, 1, 1, 1],
                       widths=(16, 32, 64, 128), num_classes=num_classes)
