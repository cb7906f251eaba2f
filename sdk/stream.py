"""Live recognition: SFC over a sliding window of a camera, stream or file.

    for result in Recognizer().stream("rtsp://camera/stream", window_s=4, stride_s=1):
        print(result.summary())

The window holds the model's SFC input length (64 samples for the default model)
spread over `window_s` seconds, so the sample rate is frames / window_s. Every frame
is decoded once and every sample preprocessed once; with a PyTorch model, the head
features of the steps two windows share can be reused exactly (`head_cache.py`), so each
window computes the head only over its new samples plus a halo at each edge; by default
("auto") only where that measures faster on the first windows. An
exported bundle is one fixed graph: it reuses the preprocessed samples, and runs the
whole window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .errors import ConfigError
from .head_cache import HeadFeatureCache, probe_halo
from .live_source import LiveSource, SourceOptions
from .recognizer import _softmax
from .results import KeptMoment, Prediction
from .transforms import center_crop, normalize
from .video import resize_short_side

if TYPE_CHECKING:
    from .recognizer import Recognizer



@dataclass
class WindowResult:
    """One window's prediction, with what it cost and the state of the source."""

    index: int  # window number, from 0
    start_s: float  # stream time of the window's first and last sample
    end_s: float
    prediction: Prediction  # kept moments carry stream time (time_s) and source frame numbers
    latency_ms: float  # from the window's last sample to this result (network + tail + bookkeeping)
    frames: list[int]  # source frame number of each sample, in order
    reused_steps: int  # head time steps taken from the previous window (0: computed in full)
    dropped: int  # samples lost so far because recognition fell behind a live source
    skipped_windows: int  # windows not computed so far because recognition fell behind
    repeated: int  # samples so far that repeated a frame: the source is slower than the sample rate
    events: list[str] = field(default_factory=list)  # source status changes since the last window

    @property
    def label(self) -> str:
        return self.prediction.label

    def to_dict(self) -> dict:
        out = asdict(self)
        out["label"], out["score"] = self.label, self.prediction.score
        return out

    def summary(self) -> str:
        top = self.prediction.top[0]
        kept = " ".join(f"{k.time_s:.2f}s" for k in self.prediction.kept if k.time_s is not None)
        line = (f"[{self.start_s:7.2f}s - {self.end_s:7.2f}s] {top.label:<16s} {top.score:5.3f}  "
                f"{self.latency_ms:5.0f} ms  dropped {self.dropped}  kept: {kept}")
        return "\n".join([*(f"  status: {e}" for e in self.events), line])


@dataclass(frozen=True)
class WindowPlan:
    samples: int  # SFC input length (samples per window)
    stride: int  # samples between windows, a multiple of the head's temporal stride
    rate: float  # samples per second of stream time

    @classmethod
    def make(cls, samples: int, head_stride: int, window_s: float, stride_s: float) -> WindowPlan:
        if not (window_s > 0 and stride_s > 0):
            raise ConfigError(f"window_s and stride_s must be positive, got {window_s} and {stride_s}")
        if stride_s > window_s:
            raise ConfigError(f"stride_s ({stride_s}) longer than window_s ({window_s}) would skip video")
        rate = samples / window_s
        # Windows start on head steps, so the steps two windows share line up exactly.
        stride = max(head_stride, round(stride_s * rate / head_stride) * head_stride)
        return cls(samples, stride, rate)


def stream_windows(rec: Recognizer, source: str | int | Path, *, window_s: float = 4.0, stride_s: float = 1.0,
                   top_k: int = 5, ratio: int | None = None, reuse: bool | str = "auto",
                   options: SourceOptions | None = None, max_windows: int | None = None) -> Iterator[WindowResult]:
    """The generator behind `Recognizer.stream` (see there)."""
    spec, ratio = rec.spec, ratio or rec.default_ratio
    plan = WindowPlan.make(rec.default_frames, rec.head_stride, window_s, stride_s)
    rec._check_sfc(plan.samples, ratio)

    def prepare(rgb: np.ndarray) -> np.ndarray:  # the same steps as `predict`, one frame at a time
        frame = resize_short_side(rgb, spec.resize_size)[None]
        return normalize(center_crop(frame, spec.crop_size), spec.mean, spec.std)  # (3, 1, crop, crop)

    if reuse not in (True, False, "auto"):
        raise ConfigError(f"reuse must be True, False or 'auto', got {reuse!r}")
    cache = None
    if reuse is not False and rec.model is not None and rec.runtime.info().name == "torch":
        # The runtime's inference copy (BatchNorm folded, channels-last), so that reuse
        # and the runtime's own pass are timed, and answer, on the same network.
        head_model = getattr(rec.runtime, "model", rec.model)
        cache = HeadFeatureCache(head_model, probe_halo(head_model, plan.samples), reuse)
    src = LiveSource(source, plan.rate, prepare=prepare, options=options)
    window: deque = deque(maxlen=plan.samples)  # (data, frame, time_s)
    taken = 0  # samples since the stream (or the last gap) began
    index, skipped, repeated, seen_events = 0, 0, 0, 0
    try:
        for sample in src:
            if sample.gap:
                window.clear()
                taken = 0
                if cache is not None:
                    cache.reset()
            repeated += sample.repeats - 1
            for _ in range(sample.repeats):
                window.append((sample.data, sample.frame, sample.time_s))
                taken += 1
                due = taken >= plan.samples and (taken - plan.samples) % plan.stride == 0
                if not due:
                    continue
                if src.live and src.pending() >= plan.stride:  # behind: a newer window is already waiting
                    skipped += 1
                    continue
                first_step = (taken - plan.samples) // rec.head_stride
                pred, reused = _run_window(rec, window, ratio, top_k, cache, first_step, str(source))
                if cache is not None and cache.decision:
                    src.events.append(cache.decision)
                    cache.decision = None
                # Live: from the arrival of the window's last sample; files: the window's own compute.
                latency = (src.stream_time() - window[-1][2]) * 1000 if src.live else pred.timings_ms["total"]
                events, seen_events = src.events[seen_events:], len(src.events)
                yield WindowResult(index, window[0][2], window[-1][2], pred, latency, [w[1] for w in window], reused,
                                   src.dropped, skipped, repeated, events)
                index += 1
                if max_windows is not None and index >= max_windows:
                    return
    finally:  # a caller that stops early (break, Ctrl-C) lets go of the source too
        src.close()


def _run_window(rec: Recognizer, window: deque, ratio: int, top_k: int, cache: HeadFeatureCache | None,
                first_step: int, source: str) -> tuple[Prediction, int]:
    start = time.perf_counter()
    x = np.concatenate([w[0] for w in window], axis=1)[None]  # (1, 3, T, crop, crop)
    prepared = time.perf_counter()
    if cache is None:
        logits, kept = rec.runtime.run_sfc(x, ratio)
        reused = 0
    else:
        model = cache.model
        with torch.inference_mode():
            device = next(model.parameters()).device
            feats = cache.features(torch.from_numpy(x).to(device), first_step)
            compressed, kept_t = model.sfc(feats, ratio)
            logits = model.backbone.forward_tail(compressed).float().cpu().numpy()
            kept = kept_t.cpu().numpy()
        reused = cache.reused
    done = time.perf_counter()
    s, samples = rec.head_stride, list(window)
    moments = []
    for p in kept[0].tolist():
        span = samples[p * s:(p + 1) * s]
        moments.append(KeptMoment(frame=span[len(span) // 2][1], first_frame=span[0][1], last_frame=span[-1][1],
                                  time_s=round((span[0][2] + span[-1][2]) / 2, 3)))
    probs = _softmax(logits[0])
    ms = {"decode": 0.0, "preprocess": (prepared - start) * 1000, "inference": (done - prepared) * 1000,
          "total": (done - start) * 1000}
    pred = Prediction(source=source, top=rec._top(probs, top_k), mode="sfc", ratio=ratio, views=None, kept=moments,
                      num_frames=len(window), fps=None, sampled_frames=len(window), padded=False, timings_ms=ms,
                      runtime=rec._runtime_name())
    return pred, reused
