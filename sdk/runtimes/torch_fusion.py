"""An inference copy of an SFC model for PyTorch eager: BatchNorm folded into the
convolution before it, and channels-last (NDHWC) memory on CPU.

Why: eager PyTorch runs every BatchNorm as a separate pass over the activations,
and oneDNN's Conv3d is faster on NDHWC than on NCDHW. Both costs grow with the
activation size, so they hurt SFC's head (64 frames in one pass) more than a
16-frame dense clip: on this 2-core CPU, r3d_18's SFC r4 went from 1428 to 808 ms end
to end (benchmarks/results/speed.md at commit e0e48e0: torch-eager vs torch rows).
ONNX Runtime and OpenVINO do the same folding when they load a graph.

The user's model is left untouched (a deep copy is optimised), so it can still be
trained and saved with its original state-dict keys.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ..config import InputSpec
from ..model import HEAD_CHUNK_STEPS, SFCModel

_CONV_BN = ((nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d), (nn.Conv3d, nn.BatchNorm3d))


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """`module` traced with torch.fx, every eval-mode BatchNorm whose only input is a
    convolution (and that convolution's only user) folded into it. Modules that
    torch.fx cannot trace are returned unchanged: folding is an optimisation, never
    a requirement."""
    try:
        traced = fx.GraphModule(module, _ConvLeafTracer().trace(module))
    except Exception:  # noqa: BLE001 - data-dependent control flow: run it as it is
        return module
    modules = dict(traced.named_modules())
    folded = 0
    for node in list(traced.graph.nodes):
        if node.op != "call_module" or len(node.args) != 1 or not isinstance(node.args[0], fx.Node):
            continue
        prev = node.args[0]
        if prev.op != "call_module" or len(prev.users) != 1:
            continue
        conv, bn = modules[prev.target], modules[node.target]
        # isinstance, not type(): torchvision's Conv3DSimple and friends subclass Conv3d.
        if not any(isinstance(conv, c) and isinstance(bn, b) for c, b in _CONV_BN) or not bn.track_running_stats:
            continue
        _replace(traced, prev.target, fuse_conv_bn_eval(conv.eval(), bn.eval()))
        node.replace_all_uses_with(prev)
        traced.graph.erase_node(node)
        folded += 1
    if not folded:
        return module
    traced.graph.lint()
    traced.delete_all_unused_submodules()
    traced.recompile()
    return traced


class _ConvLeafTracer(fx.Tracer):
    """Keeps convolutions as modules even when a library subclasses them
    (torchvision's Conv3DSimple): traced through, they could not be folded."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) or super().is_leaf_module(m, qualname)


def _replace(root: nn.Module, target: str, new: nn.Module) -> None:
    parent, _, name = target.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, name, new)


class OneDNNConv3d(nn.Conv3d):
    """A Conv3d that runs oneDNN on CPU whatever the shape, its weight reordered once.

    PyTorch picks its naive kernel (im2col) for a convolution with one group, a kernel of
    3 or less and a batch of one when N x C x T x H is at most 20480, a rule written for
    2D maps: an SFC pass shorter than 61 frames sends the 3-channel stem there. The
    bundled model's stem at 48 frames took 25 ms instead of 2.5, and its whole pass 29 ms
    against 15.5 for 64 frames. And oneDNN reorders a plain weight into its blocked
    layout at every call: 15-20 us of the 40-55 each of the tail's small convolutions
    takes at batch 1 (36 of them after SFC), so the weight is reordered once, on first
    use (same kernels, same output bits)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Exporters (TorchScript tracing, torch.export) get the plain op they can lower.
        if (x.device.type != "cpu" or x.dtype != torch.float32 or torch.jit.is_tracing()
                or torch.compiler.is_compiling()):
            return super().forward(x)
        packed = self.__dict__.get("_packed")
        if packed is None:  # an inference copy's weights never change, so one reorder serves
            with torch.no_grad():
                packed = torch._C._nn.mkldnn_reorder_conv3d_weight(
                    self.weight.detach().to_mkldnn(), self.padding, self.stride, self.dilation, self.groups)
            self.__dict__["_packed"] = packed
        return torch.ops.mkldnn._convolution_pointwise(x, packed, self.bias, self.padding, self.stride,
                                                       self.dilation, self.groups, "none", [], "")

    def __getstate__(self) -> dict:
        # A oneDNN tensor cannot be copied or pickled; a copy reorders its own weight.
        return {k: v for k, v in self.__dict__.items() if k != "_packed"}


def _onednn_convolutions(net: nn.Module) -> None:
    """Every zero-padded Conv3d of `net` becomes a OneDNNConv3d (same parameters)."""
    if not torch.backends.mkldnn.is_available():
        return
    for m in net.modules():
        if isinstance(m, nn.Conv3d) and m.padding_mode == "zeros" and not isinstance(m.padding, str):
            m.__class__ = OneDNNConv3d  # same fields and parameters; only forward differs


class InputNormalization(nn.Module):
    """uint8 frames (B, 3, T, H, W) -> the network's float input, as `InputSpec` says:
    scaled to [0, 1], then standardised. The same float32 arithmetic as
    `video.transforms.normalize`, so the same bits, in one float tensor (in place), written
    channels-last on CPU whatever the frames' layout (a crop of decoded frames, or planes)."""

    def __init__(self, spec: InputSpec) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(spec.mean, dtype=torch.float32).view(1, -1, 1, 1, 1))
        self.register_buffer("std", torch.tensor(spec.std, dtype=torch.float32).view(1, -1, 1, 1, 1))
        self.scale = float(np.float32(1.0 / 255.0))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        layout = torch.channels_last_3d if frames.device.type == "cpu" else torch.preserve_format
        return frames.to(torch.float32, memory_format=layout).mul_(self.scale).sub_(self.mean).div_(self.std)


def inference_copy(model: SFCModel, device: torch.device, head_chunk: int | None = HEAD_CHUNK_STEPS,
                   input_spec: InputSpec | None = None) -> SFCModel:
    """A copy of `model` for inference on `device`: BatchNorm folded stage by stage,
    channels-last and oneDNN convolutions on CPU (on CUDA, cuDNN picks its own layouts;
    left as it is), and the head run `head_chunk` steps at a time where the backbone offers
    that (`make_chunked_head`; None: never). With `input_spec`, the copy also takes uint8
    frames and normalises them itself (a chunk at a time with a chunked head)."""
    net = copy.deepcopy(model).eval()
    backbone = net.backbone
    chunked = backbone.make_chunked_head(head_chunk) if head_chunk else None  # from unfolded layers
    for stage in backbone.stages:
        for path in stage.paths:
            _replace(backbone, path, fold_batchnorm(backbone.get_submodule(path)))
    backbone.chunked_head = chunked
    backbone.input_normalization = InputNormalization(input_spec) if input_spec else None
    net = net.to(device)
    if device.type == "cpu":
        net = net.to(memory_format=torch.channels_last_3d)
        _onednn_convolutions(net)
    return net


def as_model_input(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Frames or clips (B, 3, T, H, W) in the layout `inference_copy` runs in. uint8 frames
    stay as they are (a view of the decoded frames): normalising them writes that layout."""
    x = x.to(device)
    if x.dtype == torch.uint8 or device.type != "cpu":
        return x
    return x.contiguous(memory_format=torch.channels_last_3d)
