"""X3D (Feichtenhofer, CVPR 2020) with pytorchvideo's exact module layout.

State-dict keys, order and shapes are identical to `pytorchvideo.models.x3d.create_x3d`
as configured by `pytorchvideo.models.hub.x3d_s`, so a pytorchvideo checkpoint
(`checkpoint["model_state"]`) loads with no renaming. Two deliberate differences, both
parameter-free:

* the head pools with a global mean instead of a fixed (13, 5, 5) AvgPool3d, so the
  tail accepts any time length / crop size (identical for the 13x160x160 input);
* `classify` returns logits: pytorchvideo's head ends with Softmax in eval mode.

Swish is plain `x * sigmoid(x)` (pytorchvideo uses a custom autograd Function, which
ONNX export cannot trace into).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...config import InputSpec
from .base import StageInfo, VideoBackbone, init_resnet_style
from .registry import register_backbone


def round_width(width: float, multiplier: float, min_width: int = 8, divisor: int = 8) -> int:
    """pytorchvideo's `round_width`: scale channels, round to a multiple of `divisor`."""
    width *= multiplier
    out = max(min_width, int(width + divisor / 2) // divisor * divisor)
    if out < 0.9 * width:
        out += divisor
    return int(out)


def round_repeats(repeats: int, multiplier: float) -> int:
    return math.ceil(multiplier * repeats)


class Swish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class SqueezeExcitation(nn.Module):
    """fvcore's 3D SE block: keys `block.0` (reduce) and `block.2` (expand)."""

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv3d(channels, reduced, kernel_size=1, bias=True),
            nn.ReLU(),
            nn.Conv3d(reduced, channels, kernel_size=1, bias=True),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.block(x.mean(dim=(2, 3, 4), keepdim=True))


class Conv2plus1d(nn.Module):
    """Stem convolution. pytorchvideo passes the *spatial* conv as `conv_t` and the
    depthwise *temporal* conv as `conv_xy`; the names are kept for the checkpoint keys."""

    def __init__(self, conv_t: nn.Module, conv_xy: nn.Module) -> None:
        super().__init__()
        self.conv_t = conv_t
        self.conv_xy = conv_xy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_xy(self.conv_t(x))


class X3DStem(nn.Module):
    """1x3x3 conv (stride 2 in space), 5x1x1 depthwise conv, BN, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int, int] = (5, 3, 3)) -> None:
        super().__init__()
        kt, kh, kw = kernel
        self.conv = Conv2plus1d(
            conv_t=nn.Conv3d(in_channels, out_channels, (1, kh, kw), stride=(1, 2, 2), padding=(0, kh // 2, kw // 2),
                             bias=False),
            conv_xy=nn.Conv3d(out_channels, out_channels, (kt, 1, 1), padding=(kt // 2, 0, 0), bias=False,
                              groups=out_channels),
        )
        self.norm = nn.BatchNorm3d(out_channels)
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.norm(self.conv(x)))


class BottleneckBlock(nn.Module):
    """1x1x1 conv, BN, ReLU; 3x3x3 depthwise conv, BN (+ SE), Swish; 1x1x1 conv, BN."""

    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, stride: tuple[int, int, int],
                 se_ratio: float) -> None:
        super().__init__()
        self.conv_a = nn.Conv3d(dim_in, dim_inner, kernel_size=1, bias=False)
        self.norm_a = nn.BatchNorm3d(dim_inner)
        self.act_a = nn.ReLU()
        self.conv_b = nn.Conv3d(dim_inner, dim_inner, kernel_size=3, stride=stride, padding=1, bias=False,
                                groups=dim_inner)
        # pytorchvideo nests SE after the BN in a Sequential, hence `norm_b.0` / `norm_b.1`.
        se = SqueezeExcitation(dim_inner, round_width(dim_inner, se_ratio)) if se_ratio > 0 else nn.Identity()
        self.norm_b = nn.Sequential(nn.BatchNorm3d(dim_inner), se)
        self.act_b = Swish()
        self.conv_c = nn.Conv3d(dim_inner, dim_out, kernel_size=1, bias=False)
        self.norm_c = nn.BatchNorm3d(dim_out)
        self.norm_c.block_final_bn = True  # zero-initialised gamma, as pytorchvideo

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act_a(self.norm_a(self.conv_a(x)))
        x = self.act_b(self.norm_b(self.conv_b(x)))
        return self.norm_c(self.conv_c(x))


class ResBlock(nn.Module):
    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, stride: tuple[int, int, int],
                 se_ratio: float) -> None:
        super().__init__()
        # As pytorchvideo: a projection shortcut whenever shape changes, but its BN only
        # when channels change (stage1's first block has a bare strided conv).
        self.branch1_conv = (nn.Conv3d(dim_in, dim_out, kernel_size=1, stride=stride, bias=False)
                             if dim_in != dim_out or math.prod(stride) > 1 else None)
        self.branch1_norm = nn.BatchNorm3d(dim_out) if dim_in != dim_out else None
        self.branch2 = BottleneckBlock(dim_in, dim_inner, dim_out, stride, se_ratio)
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        if self.branch1_conv is not None:
            shortcut = self.branch1_conv(x)
            if self.branch1_norm is not None:
                shortcut = self.branch1_norm(shortcut)
        return self.activation(shortcut + self.branch2(x))


class ResStage(nn.Module):
    def __init__(self, depth: int, dim_in: int, dim_inner: int, dim_out: int, spatial_stride: int,
                 se_ratio: float) -> None:
        super().__init__()
        # SE on every other block (1st, 3rd, ...), stride only in the first.
        self.res_blocks = nn.ModuleList(
            ResBlock(dim_in if i == 0 else dim_out, dim_inner, dim_out,
                     (1, spatial_stride, spatial_stride) if i == 0 else (1, 1, 1),
                     se_ratio if (i + 1) % 2 else 0.0)
            for i in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.res_blocks:
            x = block(x)
        return x


class ProjectedPool(nn.Module):
    """pre_conv, BN, ReLU, global mean, post_conv, ReLU (pytorchvideo's X3D head pool)."""

    def __init__(self, dim_in: int, dim_inner: int, dim_out: int) -> None:
        super().__init__()
        self.pre_conv = nn.Conv3d(dim_in, dim_inner, kernel_size=1, bias=False)
        self.pre_norm = nn.BatchNorm3d(dim_inner)
        self.pre_act = nn.ReLU()
        self.post_conv = nn.Conv3d(dim_inner, dim_out, kernel_size=1, bias=False)
        self.post_act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pre_act(self.pre_norm(self.pre_conv(x)))
        # Global mean replaces AvgPool3d((13, 5, 5)): same result on the 13x160x160
        # input it was sized for, and valid for any other clip length or crop.
        x = x.mean(dim=(2, 3, 4), keepdim=True)
        return self.post_act(self.post_conv(x))


class X3DHead(nn.Module):
    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, num_classes: int, dropout_rate: float) -> None:
        super().__init__()
        self.pool = ProjectedPool(dim_in, dim_inner, dim_out)
        self.dropout = nn.Dropout(dropout_rate) if dropout_rate > 0 else nn.Identity()
        self.proj = nn.Linear(dim_out, num_classes, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.pool(x)).flatten(1)  # (B, C, 1, 1, 1) -> (B, C)
        return self.proj(x)  # logits; pytorchvideo applies Softmax here in eval


class X3D(VideoBackbone):
    """pytorchvideo's `create_x3d` network (Net with blocks 0-5) as a split backbone."""

    def __init__(self, num_classes: int = 400, width_factor: float = 2.0, depth_factor: float = 2.2,
                 stem_dim_in: int = 12, bottleneck_factor: float = 2.25, se_ratio: float = 0.0625,
                 head_dim_out: int = 2048, dropout_rate: float = 0.5) -> None:
        super().__init__()
        stem_dim = round_width(stem_dim_in, width_factor)
        blocks: list[nn.Module] = [X3DStem(3, stem_dim)]
        stages = [StageInfo("stem", stem_dim, 1, modules=("blocks.0",))]
        dim_in = dim_out = dim_inner = stem_dim
        stage_dim = stem_dim_in
        for i, depth in enumerate((1, 2, 5, 3)):
            if i > 0:
                stage_dim = round_width(stage_dim, 2.0)
            dim_out = round_width(stage_dim, width_factor)
            dim_inner = int(bottleneck_factor * dim_out)
            blocks.append(ResStage(round_repeats(depth, depth_factor), dim_in, dim_inner, dim_out, 2, se_ratio))
            # X3D never strides in time: every stage keeps the clip length.
            stages.append(StageInfo(f"stage{i + 1}", dim_out, 1, modules=(f"blocks.{i + 1}",)))
            dim_in = dim_out
        blocks.append(X3DHead(dim_out, dim_inner, head_dim_out, num_classes, dropout_rate))
        self.blocks = nn.ModuleList(blocks)
        self.stages = tuple(stages)
        init_resnet_style(self)  # pytorchvideo's init_net_weights: zero gamma on each bottleneck's last BN

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks[5](x)


@register_backbone("x3d_s", default_split="stage2",
                   input_spec=InputSpec(clip_len=13, frame_stride=6, crop_size=160, resize_size=182,
                                        mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225)),
                   description="X3D-S (Feichtenhofer 2020), pytorchvideo layout, 3.79M params",
                   weights_layout="pytorchvideo.models.hub.x3d_s")
def x3d_s(num_classes: int = 400) -> X3D:
    return X3D(num_classes=num_classes)
