"""I3D's stem through time in chunks: the features of `forward_head` at a split after the
stem, in a fraction of the memory, for inference.

Why: SFC's head runs once over the whole video, and after I3D's first convolution that is
one 64 x T/2 x 112 x 112 activation (392 MB in float32 at 256 frames), which the "SAME" max
pool after it pads into a copy. In chunks of 8 head steps, from uint8 frames, the stem over
256 frames peaked at 285 MB instead of 1699 and took no longer (benchmarks/results/
i3d_head_memory.md); the outputs differ by float rounding only.

How, with no step computed twice: per chunk, Conv3d_1a_7x7 (its "SAME" padding built from
the neighbouring frames, zeros only outside the video; uint8 frames normalised per chunk),
MaxPool3d_2a_3x3 and Conv3d_2b_1x1; once the next chunk's first step is there, Conv3d_2c_3x3
(one step of context each side) and MaxPool3d_3a_3x3 of the chunk before it, into the output.
So only the output is held whole, and two or three chunks of the rest. Both max pools are one
step long in time and follow a ReLU (in place), so padding them with 0 equals TensorFlow's
-inf; where "SAME" pads both sides alike or only after, PyTorch's own padding or ceil mode
does it without a copy.

Eval only: BatchNorm is folded into each convolution from its running statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .tf_same import tf_same_pads


def _folded(unit: nn.Module, padding: tuple[int, int, int]) -> nn.Conv3d:
    """`unit`'s (an I3D Unit3D's) convolution with its BatchNorm folded in, and `padding`
    (the chunks pad the rest themselves)."""
    conv = fuse_conv_bn_eval(unit.conv, unit.bn)
    conv.padding = padding
    return conv


def _pool(y: torch.Tensor) -> torch.Tensor:
    """MaxPool 1x3x3, stride (1, 2, 2), "SAME", without a padded copy of `y`: "SAME" pads an
    even size (0, 1), which is PyTorch's ceil mode, and an odd size (1, 1), PyTorch's padding."""
    ph, pw = tf_same_pads(int(y.shape[3]), 3, 2), tf_same_pads(int(y.shape[4]), 3, 2)
    if ph[0] == ph[1] and pw[0] == pw[1]:
        return F.max_pool3d(y, (1, 3, 3), (1, 2, 2), padding=(0, ph[0], pw[0]))
    if ph[0] == 0 and pw[0] == 0:
        return F.max_pool3d(y, (1, 3, 3), (1, 2, 2), ceil_mode=True)
    return F.max_pool3d(F.pad(y, (*pw, *ph, 0, 0)), (1, 3, 3), (1, 2, 2))  # one even, one odd side


class ChunkedStem(nn.Module):
    """Conv3d_1a_7x7 .. MaxPool3d_3a_3x3 of an eval-mode InceptionI3d, `chunk` head steps
    at a time (see the module's docstring); the three convolutions are its Unit3Ds
    (convolution + BatchNorm + ReLU). Same input and output as the stem."""

    def __init__(self, conv1a: nn.Module, conv2b: nn.Module, conv2c: nn.Module, chunk: int = 8) -> None:
        super().__init__()
        if chunk < 1:
            raise ValueError(f"chunk must be at least one head step, not {chunk}")
        self.chunk = chunk
        self.conv1a = _folded(conv1a, (0, 0, 0))
        self.conv2b = _folded(conv2b, (0, 0, 0))
        self.conv2c = _folded(conv2c, (0, 1, 1))

    def forward(self, x: torch.Tensor,
                normalize: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """`x` (B, 3, T, H, W): the network's input, or frames that `normalize` turns into
        it, one chunk at a time (the float input is then never held whole)."""
        frames, height, width = (int(s) for s in x.shape[2:])
        steps = math.ceil(frames / 2)
        before = tf_same_pads(frames, 7, 2)[0]
        ph, pw = tf_same_pads(height, 7, 2), tf_same_pads(width, 7, 2)
        spans = [(a, min(steps, a + self.chunk)) for a in range(0, steps, self.chunk)]
        middles: dict[int, torch.Tensor] = {}  # Conv3d_2b's output of the chunks still needed
        # Exporters get the chunks joined by one concatenation (their memory planners place
        # it in place); eager PyTorch writes each chunk into one buffer instead of holding
        # the chunks and their concatenation at once.
        exporting = torch.jit.is_tracing() or torch.compiler.is_compiling()
        outs: list[torch.Tensor] = []
        out = None
        for i, (a, b) in enumerate(spans):
            lo, hi = 2 * a - before, 2 * (b - 1) - before + 7  # Conv3d_1a outputs [a, b) read frames [lo, hi)
            xs = x[:, :, max(lo, 0):min(hi, frames)]
            xs = F.pad(normalize(xs) if normalize else xs, (*pw, *ph, max(0, -lo), max(0, hi - frames)))
            middles[i] = F.relu_(self.conv2b(_pool(F.relu_(self.conv1a(xs)))))
            for j in (i - 1, i) if i == len(spans) - 1 else (i - 1,):  # chunks whose context is here
                if j < 0:
                    continue
                y = self._second_half(middles, j, len(spans))
                if exporting:
                    outs.append(y)
                    continue
                if out is None:
                    out = _buffer_like(y, steps)
                out[:, :, spans[j][0]:spans[j][1]] = y
            middles.pop(i - 2, None)
        if exporting:
            return torch.cat(outs, dim=2)
        assert out is not None
        return out

    def _second_half(self, middles: dict[int, torch.Tensor], j: int, chunks: int) -> torch.Tensor:
        """Conv3d_2c and MaxPool3d_3a for chunk `j`: its middle steps, one step of context on each
        side from the chunks next to it (zeros at the ends of the video: "SAME")."""
        parts = [middles[j - 1][:, :, -1:]] if j > 0 else []
        parts.append(middles[j])
        if j + 1 < chunks:
            parts.append(middles[j + 1][:, :, :1])
        ys = F.pad(torch.cat(parts, dim=2), (0, 0, 0, 0, int(j == 0), int(j + 1 == chunks)))
        return _pool(F.relu_(self.conv2c(ys)))


def _buffer_like(y: torch.Tensor, steps: int) -> torch.Tensor:
    """An empty (B, C, steps, h, w) tensor for chunks like `y`, in `y`'s memory layout."""
    channels_last = y.is_contiguous(memory_format=torch.channels_last_3d) and not y.is_contiguous()
    return torch.empty((y.shape[0], y.shape[1], steps, *y.shape[3:]), dtype=y.dtype, device=y.device,
                       memory_format=torch.channels_last_3d if channels_last else torch.contiguous_format)
