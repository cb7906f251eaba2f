"""Untrimmed test videos: a real clip placed inside a longer video of its empty scene.

This is the case SFC is for. The clip sits at a seeded random position inside a
video 3-4x its length; every other frame shows the scene without the actor (the
per-pixel temporal median of the clip) plus mild sensor-like noise. Videos are
written as real files (MJPG in AVI) so they go back through the normal decoder.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .decode import sample_frames


@dataclass(frozen=True)
class LongVideo:
    path: Path
    source: Path  # the trimmed clip inside it
    num_frames: int
    action_start: int  # first frame of the clip inside the long video
    action_end: int  # one past its last frame
    fps: float


def _seed_for(name: str, seed: int) -> np.random.Generator:
    """Per-video generator from a stable hash of its name (Python's hash() is salted)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def long_frames(clip: np.ndarray, rng: np.random.Generator, factor: tuple[float, float] = (3.0, 4.0),
                noise: float = 2.0) -> tuple[Iterator[np.ndarray], int, int, int]:
    """Frames of the long version of `clip` (T, H, W, 3) uint8, generated lazily.

    Returns (frames, total, start, end): the clip occupies frames [start, end).
    """
    n = len(clip)
    total = max(n + 1, round(rng.uniform(*factor) * n))
    start = int(rng.integers(0, total - n + 1))
    background = np.median(clip, axis=0).astype(np.float32)
    noise_seed = int(rng.integers(2**31))

    def frames() -> Iterator[np.ndarray]:
        noise_rng = np.random.default_rng(noise_seed)
        for i in range(total):
            if start <= i < start + n:
                yield clip[i - start]
            else:
                yield np.clip(background + noise_rng.normal(0, noise, background.shape), 0, 255).astype(np.uint8)

    return frames(), total, start, start + n


def write_video(path: Path, frames: Iterator[np.ndarray], fps: float, size: tuple[int, int]) -> None:
    """Write RGB frames as MJPG/AVI (lossy but high quality, and deterministic)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise OSError(f"cannot write video {path}")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def make_long_video(clip_path: str | Path, out_dir: str | Path, seed: int = 0,
                    factor: tuple[float, float] = (3.0, 4.0), noise: float = 2.0) -> LongVideo:
    """Write the long version of a clip into `out_dir` (same result for the same seed)."""
    clip_path, out_dir = Path(clip_path), Path(out_dir)
    decoded = sample_frames(clip_path, lambda n: range(n), short_side=None)  # native size
    clip = decoded.frames
    rng = _seed_for(clip_path.name, seed)
    frames, total, start, end = long_frames(clip, rng, factor, noise)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{clip_path.stem}_long.avi"
    fps = decoded.fps or 25.0
    write_video(path, frames, fps, (clip.shape[2], clip.shape[1]))
    return LongVideo(path, clip_path, total, start, end, fps)

