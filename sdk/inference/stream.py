"""Live recognition: SFC over a sliding window of a camera, stream or file.

    for result in Recognizer().stream("rtsp://camera/stream", window_s=4, stride_s=1):
        print(result.summary())

The window holds the model's SFC input length (64 samples for the default model)
spread over `window_s` seconds, so the sample rate is frames / window_s. Every frame
is decoded once and every sample preprocessed once (`frame_input`, the same steps as
`predict`). Each window goes to the runtime's window runner: the PyTorch runtime reuses
the head features of the steps two windows share, exactly, so each window computes the
head only over its new samples plus a halo at each edge (by default, "auto", only where
that measures faster on the first windows); an exported bundle is one fixed graph and
runs the whole window. Logits become a Prediction as in `predict` (`postprocess.make_prediction`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..config import ModelConfig, reuse_mode
from ..errors import ConfigError
from ..runtimes import Runtime, WindowRunner
from ..video.live import LiveSource, Sample, SourceOptions
from ..video.preprocess import frame_input
from .postprocess import kept_moments, make_prediction
from .results import Prediction, Stopwatch


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


def stream_windows(runtime: Runtime, config: ModelConfig, source: str | int | Path, *, window_s: float = 4.0,
                   stride_s: float = 1.0, top_k: int = 5, ratio: int | None = None, reuse: str | bool = "auto",
                   options: SourceOptions | None = None, max_windows: int | None = None) -> Iterator[WindowResult]:
    """Windows of `source` through `runtime`, for a model described by `config`: the
    generator behind `Recognizer.stream` (see there)."""
    spec, ratio = config.input_spec, ratio or config.sfc.ratio
    plan = WindowPlan.make(config.sfc.frames, runtime.head_stride, window_s, stride_s)
    runtime.check_sfc(plan.samples, ratio)
    runner = runtime.window_runner(plan.samples, reuse_mode(reuse))
    src = LiveSource(source, plan.rate, prepare=lambda rgb: frame_input(rgb, spec), options=options)
    window: deque[Sample] = deque(maxlen=plan.samples)
    taken = 0  # samples since the stream (or the last gap) began
    index, skipped, repeated, seen_events = 0, 0, 0, 0
    try:
        for sample in src:
            if sample.gap:
                window.clear()
                taken = 0
                runner.reset()
            repeated += sample.repeats - 1
            for _ in range(sample.repeats):
                window.append(sample)
                taken += 1
                due = taken >= plan.samples and (taken - plan.samples) % plan.stride == 0
                if not due:
                    continue
                if src.live and src.pending() >= plan.stride:  # behind: a newer window is already waiting
                    skipped += 1
                    continue
                first_step = (taken - plan.samples) // runtime.head_stride
                pred = _run_window(runner, config, window, ratio, top_k, first_step, str(source))
                if runner.decision:
                    src.events.append(runner.decision)
                    runner.decision = None
                # Live: from the arrival of the window's last sample; files: the window's own compute.
                latency = (src.stream_time() - window[-1].time_s) * 1000 if src.live else pred.timings_ms["total"]
                events, seen_events = src.events[seen_events:], len(src.events)
                yield WindowResult(index, window[0].time_s, window[-1].time_s, pred, latency,
                                   [w.frame for w in window], runner.reused, src.dropped, skipped, repeated, events)
                index += 1
                if max_windows is not None and index >= max_windows:
                    return
    finally:  # a caller that stops early (break, Ctrl-C) lets go of the source too
        src.close()


def _run_window(runner: WindowRunner, config: ModelConfig, window: deque[Sample], ratio: int, top_k: int,
                first_step: int, source: str) -> Prediction:
    # Frames were decoded and preprocessed one by one as they arrived (`LiveSource`): no
    # decode phase here, and "preprocess" is only stacking the window.
    watch = Stopwatch()
    x = np.concatenate([w.data for w in window], axis=1)[None]  # (1, 3, T, crop, crop)
    watch.lap("preprocess")
    logits, kept = runner.run(x, ratio, first_step)
    watch.lap("inference")
    moments = kept_moments(kept[0].tolist(), runner.runtime.head_stride, [w.frame for w in window],
                           times=[w.time_s for w in window])
    return make_prediction(logits, config.labels, top_k, watch, source=source, mode="sfc",
                           runtime=runner.runtime.info().label, num_frames=len(window), sampled_frames=len(window),
                           ratio=ratio, kept=moments)
