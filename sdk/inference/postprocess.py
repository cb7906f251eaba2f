"""Logits -> what a prediction reports: probabilities, ranked labels, kept moments, notes.

Shared by `Recognizer.predict` and live windows (`stream.py`), so both report alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..video.decode import SampledFrames
from .results import KeptMoment, LabelScore


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def ranked(probs: np.ndarray, labels: Sequence[str], k: int) -> list[LabelScore]:
    """The `k` most probable labels, best first (ties keep label order)."""
    order = np.argsort(-probs, kind="stable")[:k]
    return [LabelScore(labels[i], float(probs[i]), int(i)) for i in order]


def kept_moments(kept: Sequence[int], head_stride: int, frames: Sequence[int], *,
                 times: Sequence[float] | None = None, fps: float | None = None) -> list[KeptMoment]:
    """Kept head positions -> the span of source frames each one's feature covers.
    `frames[i]` is the source frame of input sample i; a span's time is the centre of its
    first and last sample, from `times` (stream time per sample) or from `fps`."""
    out = []
    for p in kept:
        first, last = p * head_stride, min((p + 1) * head_stride, len(frames)) - 1
        span = frames[first:last + 1]
        if times is not None:
            time_s = round((times[first] + times[last]) / 2, 3)
        else:
            time_s = round((span[0] + span[-1]) / 2 / fps, 3) if fps else None
        out.append(KeptMoment(frame=span[len(span) // 2], first_frame=span[0], last_frame=span[-1], time_s=time_s))
    return out


def decode_notes(clip: SampledFrames) -> list[str]:
    """Say which video stream was read when a file has several, and when the container's
    frame count was wrong by more than a frame or two."""
    notes = []
    if len(clip.video_streams) > 1:
        others = ", ".join(str(i) for i in clip.video_streams if i != clip.video_stream)
        notes.append(f"the file has {len(clip.video_streams)} video streams: read stream {clip.video_stream} (FFmpeg's "
                     f"choice unless --stream / video_stream= named it); the others: {others}")
    header = clip.header_frames
    if header and header > 0 and abs(header - clip.num_frames) > max(2, header // 50):
        notes.append(f"the header claims {header} frames but {clip.num_frames} decode (truncated or damaged "
                     "file?); sampled over the decoded frames")
    return notes
