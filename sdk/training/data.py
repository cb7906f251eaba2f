"""Training data: a folder-per-class video dataset (`sfc_sdk.video.files.scan_folder`),
decoded once, sampled with augmentation.

Each video is decoded once, at the model's resize size, into memory (uint8): small
datasets of the kind one fine-tunes on for an edge device fit easily (Weizmann at
short side 96: ~200 MB), and every training step then costs no decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..video.decode import sample_frames
from ..video.files import VideoItem
from ..video.transforms import resize_square


def decode_all(items: Sequence[VideoItem], short_side: int, progress: bool = True) -> list[np.ndarray]:
    """Every frame of every video, resized so the short side is `short_side`."""
    from tqdm import tqdm

    out = []
    for item in tqdm(items, desc="decode", unit="video", disable=not progress, leave=False):
        out.append(sample_frames(item.path, lambda n: range(n), short_side).frames)
    return out


def random_clip_indices(n: int, clip_len: int, rng: np.random.Generator,
                        stride_range: tuple[float, float] = (1.0, 3.0)) -> np.ndarray:
    """`clip_len` indices at a random (log-uniform, possibly fractional) frame step and
    start. Varying the step teaches the backbone the temporal scales it meets at test
    time: dense clips at a fixed step, SFC's uniform samples over short and long videos."""
    lo, hi = stride_range
    hi = min(hi, max(lo, (n - 1) / max(clip_len - 1, 1)))
    step = float(np.exp(rng.uniform(np.log(lo), np.log(max(hi, lo)))))
    span = (clip_len - 1) * step
    start = rng.uniform(0, max(n - 1 - span, 0))
    return np.minimum(np.round(start + step * np.arange(clip_len)).astype(int), n - 1)


def sfc_clip_indices(n: int, clip_len: int, group: int, rng: np.random.Generator) -> np.ndarray:
    """`clip_len` indices laid out as the frozen tail meets them in an SFC pass: groups of
    `group` frames (one head step each), frames inside a group close together, groups
    spread over the video. SFC samples a whole video uniformly, then keeps every
    ratio-th head step, so on a trimmed clip the tail sees short bursts far apart,
    which ordinary clips (evenly spaced frames) never show it."""
    groups = max(1, clip_len // group)
    inner = float(np.exp(rng.uniform(0.0, np.log(2.5))))  # SFC's sampling step: 1 (short video) to ~2
    inner = min(inner, max(1.0, (n - 1) / max(clip_len - 1, 1)))
    burst = (group - 1) * inner
    # Group spacing: from touching (an ordinary clip) to spread over the whole video.
    widest = (n - 1 - burst) / max(groups - 1, 1)
    spacing = rng.uniform(min(group * inner, widest), max(widest, group * inner))
    span = burst + spacing * (groups - 1)
    start = rng.uniform(0, max(n - 1 - span, 0))
    starts = start + spacing * np.arange(groups)
    idx = (starts[:, None] + inner * np.arange(group)[None, :]).reshape(-1)[:clip_len]
    if len(idx) < clip_len:  # clip_len not a multiple of group: pad with the last frame
        idx = np.concatenate([idx, np.full(clip_len - len(idx), idx[-1])])
    return np.clip(np.round(idx).astype(int), 0, n - 1)


def jittered_uniform_indices(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` frames over the whole video, one at a random point of each equal segment
    (TSN-style): the training-time version of SFC's uniform sampling."""
    return np.minimum(((np.arange(count) + rng.uniform(0, 1, count)) * n / count).astype(int), n - 1)


def augment(frames: np.ndarray, crop: int, rng: np.random.Generator, scale: tuple[float, float] = (0.8, 1.0)
            ) -> np.ndarray:
    """Random square crop (side `scale` x the short side, resized to `crop`) and
    horizontal flip, the same for every frame. The scale jitter
    covers both test protocols: 1-crop (short side resized above the crop size) and
    3-crop (short side resized to the crop size)."""
    t, h, w, _ = frames.shape
    side = max(1, min(h, w, round(min(h, w) * rng.uniform(*scale))))
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    out = frames[:, top:top + side, left:left + side]
    if side != crop:
        out = resize_square(out, crop)
    if rng.random() < 0.5:
        out = out[:, :, ::-1]
    # No brightness/contrast jitter: measured on Weizmann, a +-20% gain and +-20 offset
    # per clip kept a from-scratch backbone at chance level for 120 steps, where the
    # same run without it learned (see the training notes in docs/benchmarks.md).
    return np.ascontiguousarray(out)
