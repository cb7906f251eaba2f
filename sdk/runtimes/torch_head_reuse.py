"""Reuse head features across the overlapping windows of a stream, exactly: the torch
runtime's window runner.

The head is a stack of temporal convolutions: its feature at time step p depends only
on the input frames within `halo` steps of p, and on zero padding where that range
crosses the window's edge. So when a window slides by a whole number of steps, a
feature whose range lay inside the previous window is the same number in the next,
and only three parts need computing: the new steps at the end, the `halo` steps before
them (they saw the old window's zero padding) and the first `halo` steps of the new
window (they must see its zero padding, as a one-shot pass does). The result equals
running the head on the whole window; the tests check it against `predict`.

`halo` is measured, not declared: `probe_halo` perturbs one input step and sees how
far the change reaches. A head that mixes time globally has no finite halo and is
simply run on the whole window.

Fewer steps is not always less time: two short runs cost more per step than one long
one, and for a small head (the bundled model's) the saving can vanish. `reuse="auto"`
times both ways on the first windows (the results are the same either way) and keeps
the faster.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch

from ..model import SFCModel
from .base import Runtime, WindowRunner

AUTO_TRIALS = 3  # windows timed each way before "auto" decides


@torch.inference_mode()
def probe_halo(model: SFCModel, frames: int, size: int = 32) -> int | None:
    """Head time steps on each side that one step's features depend on; None when the
    change reaches (nearly) the whole window, so reuse cannot pay."""
    stride = model.backbone.head_temporal_stride
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, frames, size, size, generator=g).to(device)
    base = model.backbone.forward_head(x)
    steps = base.shape[2]
    centre = steps // 2
    reach = 0
    for f in range(centre * stride, (centre + 1) * stride):  # every frame of the centre step
        y = x.clone()
        y[:, :, f] += 1.0
        changed = (model.backbone.forward_head(y) - base).abs().amax(dim=(0, 1, 3, 4)) > 0
        hit = changed.nonzero().flatten().tolist()
        reach = max(reach, centre - min(hit), max(hit) - centre)
    return reach if 4 * reach < steps else None


class HeadFeatureCache:
    """Head features of a sliding window, computing only what the last window lacks.

    Positions are global head steps (sample index // head stride) so windows that skip
    ahead, or a cache that is cold, fall back to computing more, never to a wrong answer.
    """

    def __init__(self, model: SFCModel, halo: int | None, reuse: str = "auto") -> None:
        self.model = model
        self.halo = halo
        self.stride = model.backbone.head_temporal_stride
        self._cache: dict[int, torch.Tensor] = {}  # global step -> (C, H, W), context-complete
        self.reused = 0  # steps taken from the cache in the last call
        self.reuse = reuse if halo is not None else "off"  # "on", "off", or "auto" until decided
        self.decision: str | None = None  # how "auto" decided, once it has
        self._times: dict[bool, list[float]] = {True: [], False: []}

    def reset(self) -> None:
        """Forget every feature (the stream restarted after a gap: step numbers start over)."""
        self._cache.clear()

    @torch.inference_mode()
    def features(self, frames: torch.Tensor, first_step: int) -> torch.Tensor:
        """(1, 3, T, H, W) window starting at global head step `first_step` -> head
        features (1, C, T / stride, h, w), equal to `forward_head(frames)`."""
        head = self.model.backbone.forward_head
        steps = frames.shape[2] // self.stride
        h = self.halo
        if h is None:
            self.reused = 0
            return head(frames)
        trial = None  # "auto": True / False = time this window with / without reuse
        if self.reuse == "auto" and self._cache:
            trial = len(self._times[True]) <= len(self._times[False])
        start = time.perf_counter()
        feats = self._features(frames, first_step, steps, h, reuse=self.reuse == "on" or trial is True)
        if trial is not None:
            self._times[trial].append(time.perf_counter() - start)
            if min(len(t) for t in self._times.values()) >= AUTO_TRIALS:
                on, off = (statistics.median(self._times[k]) * 1000 for k in (True, False))
                self.reuse = "on" if on < off else "off"
                self.decision = (f"head-feature reuse {self.reuse}: head {on:.1f} ms per window "
                                 f"with it, {off:.1f} ms without")
        self._cache = {first_step + p: feats[0, :, p] for p in range(h, steps - h)}
        return feats

    def _features(self, frames: torch.Tensor, first_step: int, steps: int, h: int, reuse: bool) -> torch.Tensor:
        head = self.model.backbone.forward_head

        def run(a: int, b: int) -> torch.Tensor:  # head over window steps [a, b)
            return head(frames[:, :, a * self.stride: b * self.stride])

        interior = range(h, steps - h)  # steps whose features do not depend on the window's edges
        missing = [p for p in interior if first_step + p not in self._cache]
        right = min(missing[0] if missing else steps - h, steps - h) - h  # first step of the right run
        if not reuse or right <= 2 * h:  # (the two runs would meet: one run over the window is cheaper)
            self.reused = 0
            return head(frames)
        left = run(0, 2 * h)[:, :, :h]  # zero padding on the left, as in a one-shot pass
        tail = run(right, steps)[:, :, h:]  # steps right + h ... end
        middle = [self._cache[first_step + p] for p in range(h, right + h)]
        self.reused = len(middle)
        return torch.cat([left, torch.stack(middle, dim=1).unsqueeze(0), tail], dim=2)


class HeadReuseRunner(WindowRunner):
    """Windows of a stream on the torch runtime's inference copy: head features from the
    cache, then the SFC module and the tail on the whole window (they see all of it)."""

    def __init__(self, runtime: Runtime, network: SFCModel, frames: int, reuse: str = "auto",
                 threads: Callable[..., AbstractContextManager] | None = None) -> None:
        """`network`: the one `runtime` runs (its inference copy: BatchNorm folded,
        channels-last), so that reuse and the runtime's own pass are timed, and answer,
        on the same network. `threads(decides=...)`: the runtime's context around each
        call (its intra-op thread count; see torch_runtime.SmallWorkThreads)."""
        super().__init__(runtime)
        self._threads = threads or (lambda decides=True: nullcontext())
        with self._threads(decides=False):
            self.cache = HeadFeatureCache(network, probe_halo(network, frames), reuse)
        self._device = next(network.parameters()).device

    @torch.inference_mode()
    def run(self, frames: np.ndarray, ratio: int, first_step: int) -> tuple[np.ndarray, np.ndarray]:
        with self._threads(decides=True):  # the first window is computed whole: one model pass
            feats = self.cache.features(torch.from_numpy(frames).to(self._device), first_step)
            logits, kept = self.cache.model.forward_from_head(feats, ratio)
        self.reused = self.cache.reused
        if self.cache.decision:
            self.decision, self.cache.decision = self.cache.decision, None
        return logits.float().cpu().numpy(), kept.cpu().numpy()

    def reset(self) -> None:
        self.cache.reset()
