"""Logits -> what a prediction reports: probabilities, ranked labels, kept moments, notes.

`make_prediction` is the one place a `Prediction` is made; the SFC pass (`sfc.py`), dense
views (`dense.py`) and live windows (`stream.py`) all call it, so all of them report alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..video.decode import SampledFrames
from .results import KeptMoment, LabelScore, Prediction, Stopwatch


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def ranked(probs: np.ndarray, labels: Sequence[str], k: int) -> list[LabelScore]:
    """The `k` most probable labels, best first (ties keep label order)."""
    order = np.argsort(-probs, kind="stable")[:k]
    return [LabelScore(labels[i], float(probs[i]), int(i)) for i in order]


def make_prediction(logits: np.ndarray, labels: Sequence[str], top_k: int, watch: Stopwatch, *, source: str,
                    mode: str, runtime: str, num_frames: int, sampled_frames: int, fps: float | None = None,
                    ratio: int | None = None, views: str | None = None, kept: list[KeptMoment] | None = None,
                    padded: bool = False, notes: list[str] | None = None, scores: list[float] | None = None,
                    score_spans: list[tuple[int, int]] | None = None) -> Prediction:
    """A Prediction from the runtime's `logits` (one row per input: 1 for an SFC pass, V
    for dense views, whose probabilities are averaged) and the `watch` that timed it."""
    probs = np.mean([softmax(row) for row in logits], axis=0)
    return Prediction(source=source, top=ranked(probs, labels, top_k), mode=mode, ratio=ratio, views=views,
                      kept=kept or [], num_frames=num_frames, fps=fps, sampled_frames=sampled_frames, padded=padded,
                      timings_ms=watch.timings_ms(), runtime=runtime, notes=notes or [], scores=scores,
                      score_spans=score_spans)


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
