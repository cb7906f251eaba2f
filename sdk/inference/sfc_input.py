"""Decoding and preprocessing for one SFC pass, apart from the model that runs it.

A `Recognizer` makes an `SfcRecipe` for its runtime (what to sample, how to resize, which
shorter inputs the runtime takes); the recipe is small, picklable and torch-free, so the
same steps run in this process (`Recognizer.predict`) or in a decoding task on another
machine (`ray_job.py`), and both hand the runtime the same `SfcInput`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..config import DECODE_MODES, SHORT_VIDEO, InputSpec
from ..errors import ConfigError
from ..video.decode import SampledFrames, VideoInput, sample_frames
from ..video.preprocess import sfc_input
from ..video.sampling import uniform_indices
from .results import Stopwatch


@dataclass
class SfcInput:
    """One video decoded and preprocessed for the SFC pass, waiting for the runtime."""

    clip: SampledFrames
    x: np.ndarray  # the runtime's input (1, 3, T, crop, crop): float32, or uint8 (SfcRecipe.uint8)
    ratio: int  # the ratio it runs at (lower for a short video)
    frames: int  # the recipe's SFC input length (notes say when a video had fewer)
    watch: Stopwatch  # decode and preprocess so far; restarted when handed to the runtime

    @property
    def timings_ms(self) -> dict[str, float]:
        """The phases timed so far: decode and preprocess (and inference, once run)."""
        return self.watch.ms

    def without_frames(self) -> SfcInput:
        """The same input without the decoded frames (only plots need them): 3x less to ship.
        (A uint8 input is a view of them; pickling it copies the crop alone.)"""
        return replace(self, clip=replace(self.clip, frames=np.empty((0, 0, 0, 3), np.uint8)))


@dataclass(frozen=True)
class SfcRecipe:
    spec: InputSpec
    frames: int  # T_in: frames sampled over the whole video
    ratio: int
    head_stride: int  # input frames per head time step
    short: str  # "adapt" or "repeat": see `plan`
    short_lengths: tuple[int, ...] = ()  # input lengths under `frames` the runtime takes (at length // unit)
    decode: str = "exact"  # one of DECODE_MODES
    channels_last: bool = False  # the runtime's input in (T, H, W, 3) memory (Runtime.channels_last_input)
    video_stream: int | None = None  # a file's video stream (container index); None: the one FFmpeg would pick
    uint8: bool = False  # the runtime normalises uint8 frames itself (Runtime.uint8_input_spec is `spec`)

    def __post_init__(self) -> None:
        if self.frames < 1 or self.ratio < 1:
            raise ConfigError(f"SFC frames and ratio must be at least 1, got frames={self.frames}, "
                              f"ratio={self.ratio}")
        if self.short not in SHORT_VIDEO:
            raise ConfigError(f"short must be one of {', '.join(SHORT_VIDEO)}, got {self.short!r}")
        if self.decode not in DECODE_MODES:
            raise ConfigError(f"decode must be one of {', '.join(DECODE_MODES)}, got {self.decode!r}")

    @property
    def unit(self) -> int:
        """Input frames per step of the ratio at the tail's kept count."""
        return self.head_stride * (self.frames // self.head_stride // self.ratio)

    def plan(self, n: int) -> list[int]:
        """The frames to sample from an `n`-frame video. T_in frames spread over a short
        video come closer together than the backbone's training clips (`spec.frame_stride`
        apart), or repeat; both change how fast motion looks, and walking then reads as
        running. "adapt": a video shorter than T_in x frame_stride is sampled at the input
        length, among those the runtime takes and no longer than the video, whose stride
        (n / length) is nearest frame_stride; the ratio is lowered so the tail still gets the
        same number of steps (a bundle carries such shorter inputs: `Manifest.short_inputs`).
        Chosen on validation actors (benchmarks/accuracy_short.py): the Jester recipe's SFC r4
        on trimmed clips of unseen people, 92.9% with each frame once, 97.1% at the stride.
        "repeat": always T_in frames."""
        stride = self.spec.frame_stride
        if self.short == "adapt" and n < self.frames * stride:
            lengths = [length for length in (*self.short_lengths, self.frames) if length <= n]
            if lengths:
                return uniform_indices(n, min(lengths, key=lambda length: (abs(math.log(n / length / stride)),
                                                                            -length)))
        return uniform_indices(n, self.frames)

    def ratio_at(self, length: int) -> int:
        """The ratio an input of `length` frames (from `plan`) runs at: the tail gets the same
        number of steps at every length."""
        return self.ratio if length == self.frames else length // self.unit

    def prepare(self, video: VideoInput, fps: float | None = None) -> SfcInput:
        """Decode and preprocess `video`: the runtime's input, and what reporting needs."""
        watch = Stopwatch()
        clip = sample_frames(video, self.plan, self.spec.resize_size, fps, nearest=self.decode == "reference",
                             video_stream=self.video_stream)
        watch.lap("decode")
        x = sfc_input(clip.frames, self.spec, self.channels_last, uint8=self.uint8)
        watch.lap("preprocess")
        return SfcInput(clip, x, self.ratio_at(len(clip.indices)), self.frames, watch)
