"""The head/tail contract every backbone follows.

A backbone is an ordered list of *stages* (attributes of the module, so the
state-dict keys stay exactly those of the upstream implementation) followed by a
classifier. SFC splits it after a named stage: the *head* runs over the long input,
the *tail* (the remaining stages and the classifier) runs on the compressed features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ...config import InputSpec
from ...errors import ConfigError


@dataclass(frozen=True)
class StageInfo:
    """One stage: the name users split at, its output channels and temporal stride.

    `modules` are the submodules that make up the stage, run in order, when they are not
    the one attribute named `name` (pytorchvideo keeps its stages in `blocks.0`, ...;
    Efficient-3DCNNs keeps a whole network in `features.0` ... `features.N`).
    """

    name: str
    channels: int
    temporal_stride: int
    modules: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        return self.modules or (self.name,)


HEAD_CHUNK_STEPS = 8
"""Head steps per chunk where the backbone can run its head in chunks of time (I3D's stem),
in the PyTorch runtime and in ONNX exports. At 256 frames (benchmarks/results/
i3d_head_memory.md): 8 peaked at 285 MB, 16 at 392, 4 at 261 (199 in an earlier run, where
they took 4% longer than 8), the whole input at 1699, all in about the same time: 8 is the
middle."""


class VideoBackbone(nn.Module):
    """A 3D CNN as named stages plus a classifier, split into head and tail.

    Subclasses set `stages` (in forward order; each `path` names the submodule
    holding the stage) and implement `classify` (global pooling + final layer).
    `create_backbone` sets `input_spec` from the registry.
    """

    stages: tuple[StageInfo, ...] = ()
    input_spec: InputSpec | None = None
    variant: dict = {}  # builder arguments it was made with (width, groups); set by `create_backbone`

    def __init__(self, split: str | None = None) -> None:
        super().__init__()
        self._split = split
        # Set on an inference or export copy (runtimes/torch_fusion.py, converters/exportable.py):
        # forward_head in chunks of time (make_chunked_head), and what turns uint8 frames into
        # the network's input.
        self.chunked_head: nn.Module | None = None
        self.input_normalization: nn.Module | None = None

    # --- split --------------------------------------------------------------
    @property
    def split_points(self) -> tuple[str, ...]:
        """Stage names after which the head may end (every stage but the last)."""
        return tuple(s.name for s in self.stages[:-1])

    @property
    def split(self) -> str:
        return self._split or self.split_points[len(self.split_points) // 2]

    @split.setter
    def split(self, name: str) -> None:
        if name not in self.split_points:
            raise ConfigError(
                f"unknown split point {name!r} for {type(self).__name__}; "
                f"choose one of {', '.join(self.split_points)}"
            )
        self._split = name

    def _split_index(self) -> int:
        return [s.name for s in self.stages].index(self.split) + 1

    @property
    def head_stages(self) -> tuple[StageInfo, ...]:
        return self.stages[: self._split_index()]

    @property
    def tail_stages(self) -> tuple[StageInfo, ...]:
        return self.stages[self._split_index() :]

    @property
    def head_channels(self) -> int:
        """Channels of the head's output (the SFC module's input)."""
        return self.head_stages[-1].channels

    @property
    def head_temporal_stride(self) -> int:
        """Input frames per time step of the head's output."""
        return math.prod(s.temporal_stride for s in self.head_stages)

    @property
    def temporal_stride(self) -> int:
        """Input frames per time step of the last stage: a clip's length must be a multiple."""
        return math.prod(s.temporal_stride for s in self.stages)

    def reset_classifier(self, num_classes: int) -> None:
        """A new, untrained final layer for `num_classes` (fine-tuning on other classes): the
        network's last Linear is replaced in place, so every other key keeps its name."""
        name, old = [(n, m) for n, m in self.named_modules() if isinstance(m, nn.Linear)][-1]
        new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
        nn.init.normal_(new.weight, 0, 0.01)
        if new.bias is not None:
            nn.init.zeros_(new.bias)
        parent, _, attr = name.rpartition(".")
        setattr(self.get_submodule(parent) if parent else self, attr, new)

    def stages_through(self, name: str) -> tuple[StageInfo, ...]:
        """The stages from the first up to and including `name` (what `--freeze NAME` freezes)."""
        names = [s.name for s in self.stages]
        if name not in names[:-1]:
            raise ConfigError(f"cannot freeze through {name!r} of {type(self).__name__}; "
                              f"choose one of {', '.join(names[:-1])}")
        return self.stages[: names.index(name) + 1]

    def check_tail_steps(self, steps: int) -> None:
        """Raise ConfigError if the tail cannot run on `steps` time steps. Strided convolutions
        with padding take any length; a backbone whose tail needs more says so here."""

    def make_chunked_head(self, steps: int) -> nn.Module | None:
        """A module computing `forward_head` through time, `steps` head steps at a time, in
        less memory (eval mode, same features to float rounding), or None where this
        backbone has none. An inference copy sets it as `chunked_head`."""
        return None

    # --- forward ------------------------------------------------------------
    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) frames -> (B, C, T / head_temporal_stride, h, w) features. Frames
        are the normalised float input, or uint8 where `input_normalization` is set."""
        normalize = self.input_normalization
        if x.dtype == torch.uint8 and normalize is None:
            raise ConfigError("uint8 frames need the network's input normalisation (an inference copy's)")
        if self.chunked_head is not None:
            return self.chunked_head(x, normalize if x.dtype == torch.uint8 else None)
        if x.dtype == torch.uint8:
            x = normalize(x)
        for s in self.head_stages:
            for path in s.paths:
                x = self.get_submodule(path)(x)
        return x

    def forward_tail(self, x: torch.Tensor) -> torch.Tensor:
        """Head features (any time length) -> (B, num_classes) logits."""
        for s in self.tail_stages:
            for path in s.paths:
                x = self.get_submodule(path)(x)
        return self.classify(x)

    def classify(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_tail(self.forward_head(x))


def global_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, C). A plain mean exports everywhere (TFLite included),
    unlike AdaptiveAvgPool3d, and works for any clip length."""
    return x.mean(dim=(2, 3, 4))


def init_resnet_style(module: nn.Module) -> None:
    """The initialisation torchvision, pytorchvideo and Efficient-3DCNNs give their 3D CNNs:
    He-normal convolutions (fan-out), unit BatchNorm (zero where a block marks its last BN
    `block_final_bn`), N(0, 0.01) linear layers, zero biases. Untrained models then match
    theirs in scale."""
    for m in module.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.constant_(m.weight, 0.0 if getattr(m, "block_final_bn", False) else 1.0)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
