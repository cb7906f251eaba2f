"""Video input: a file path, a (T, H, W, 3) uint8 RGB array, or a list of frames.

`sample_frames(video, plan, short_side)` decodes only the frames a sampling plan asks
for, resizing each as soon as it is decoded, so memory holds the sampled frames, not
the video. Frame counts in container headers can be wrong (one Kinetics clip's MKV
header counts a frame that does not decode), so the decoded count is the truth: the
plan is made from the header, then re-made from the decoded count if they differ,
with a second pass only when frames the new plan needs were not kept.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Quieten FFmpeg's per-frame warnings on damaged files; errors are raised as types instead.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
import cv2  # noqa: E402

from .errors import (  # noqa: E402
    EmptyVideoError,
    InvalidFramesError,
    NotAVideoError,
    UnreadableStreamError,
    VideoNotFoundError,
)

VideoInput = str | os.PathLike | np.ndarray | Sequence[np.ndarray]
Plan = Callable[[int], Sequence[int]]  # frame count -> frame indices to sample (any order, repeats allowed)


@dataclass
class SampledFrames:
    """Frames a plan asked for, in plan order, resized so the short side is `short_side`
    (or at their native size when `short_side` is None)."""

    frames: np.ndarray  # (N, h, w, 3) uint8 RGB
    indices: list[int]  # source frame index of each frame
    num_frames: int  # frames the video really has (decoded, not the header's count)
    fps: float | None  # None for in-memory frames given without a rate
    source: str
    header_frames: int | None = None  # what the container claimed (files only)

    def seconds(self, frame_index: int) -> float | None:
        return None if not self.fps else frame_index / self.fps


def resize_short_side(frame: np.ndarray, size: int | None) -> np.ndarray:
    """Scale so the short side is `size` (None: leave the frame as it is)."""
    h, w = frame.shape[:2]
    if size is None or min(h, w) == size:
        return frame
    scale = size / min(h, w)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))  # cv2 takes (width, height)
    return cv2.resize(frame, new, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def sample_frames(video: VideoInput, plan: Plan, short_side: int | None, fps: float | None = None) -> SampledFrames:
    """Decode the frames `plan(num_frames)` names from a path, array or list of frames."""
    if isinstance(video, (str, os.PathLike)):
        return _sample_file(Path(video), plan, short_side)
    frames = _check_frames(video)
    indices = [int(i) for i in plan(len(frames))]
    picked = {i: resize_short_side(np.ascontiguousarray(frames[i]), short_side) for i in set(indices)}
    return SampledFrames(np.stack([picked[i] for i in indices]), indices, len(frames), fps, "<frames>")


def _check_frames(video: object) -> Sequence[np.ndarray]:
    """Validate an in-memory video: (T, H, W, 3) uint8 RGB, as an array or a list."""
    if isinstance(video, np.ndarray):
        if video.ndim != 4 or video.shape[-1] != 3:
            raise InvalidFramesError(f"frame array must be (T, H, W, 3) RGB, got shape {video.shape}")
        if video.dtype != np.uint8:
            raise InvalidFramesError(f"frame array must be uint8, got {video.dtype}")
        frames: Sequence[np.ndarray] = video
    elif isinstance(video, (list, tuple)):
        for i, f in enumerate(video):
            if not isinstance(f, np.ndarray) or f.ndim != 3 or f.shape[-1] != 3 or f.dtype != np.uint8:
                desc = f"{f.dtype} {f.shape}" if isinstance(f, np.ndarray) else type(f).__name__
                raise InvalidFramesError(f"frame {i} must be an (H, W, 3) uint8 RGB array, got {desc}")
            if f.shape != video[0].shape:
                raise InvalidFramesError(f"frame {i} is {f.shape[:2]}, frame 0 is {video[0].shape[:2]}: sizes differ")
        frames = video
    else:
        raise InvalidFramesError(
            f"video must be a path, a (T, H, W, 3) uint8 array or a list of frames, not {type(video).__name__}"
        )
    if len(frames) == 0:
        raise EmptyVideoError("the frame array holds zero frames")
    if min(frames[0].shape[:2]) < 1:
        raise InvalidFramesError(f"frames must be at least 1x1 pixels, got {frames[0].shape[:2]}")
    return frames


_IMAGE_SIGNATURES = ((b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"BM", "BMP"), (b"GIF8", "GIF"))


def _open(path: Path) -> cv2.VideoCapture:
    if not path.exists():
        raise VideoNotFoundError(f"video not found: {path}")
    if not path.is_file():
        raise VideoNotFoundError(f"not a file: {path}")
    with path.open("rb") as f:
        magic = f.read(8)
    if not magic:
        raise NotAVideoError(f"{path}: the file is empty (0 bytes)")
    for signature, kind in _IMAGE_SIGNATURES:
        if magic.startswith(signature):  # FFmpeg would happily call it a 1-frame video
            raise NotAVideoError(f"{path}: this is a {kind} image, not a video")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise NotAVideoError(f"{path}: not a video, or a container no decoder here can open")
    return cap


def _decode(
    path: Path, choose: Callable[[int], set[int]], short_side: int | None
) -> tuple[dict[int, np.ndarray], int, int, float | None]:
    """One sequential pass over the whole file. `choose(header_count)` names the frames
    to keep (resized RGB). Returns them, the decoded frame count, the header's count
    and the frame rate."""
    cap = _open(path)
    try:
        header = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = cap.get(cv2.CAP_PROP_FPS)
        wanted = choose(header)
        kept: dict[int, np.ndarray] = {}
        n = 0
        # grab() decodes without the colour conversion; retrieve() only the wanted frames.
        # Decoding runs to the end, because only the decoded count can be trusted.
        while cap.grab():
            if n in wanted:
                ok, bgr = cap.retrieve()
                if not ok:
                    break
                kept[n] = resize_short_side(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), short_side)
            n += 1
        return kept, n, header, (fps if fps and np.isfinite(fps) and fps > 0 else None)
    finally:
        cap.release()


# Long videos: seek over the gaps between sampled frames instead of decoding them.
# A seek lands on the keyframe before its target and decodes forward, so it is only
# used across gaps wider than the usual longest keyframe interval (250 frames, x264's
# default); shorter gaps are decoded through, as before. A 60-minute video took 6 s to
# decode end to end for 64 frames.
SEEK_MIN_GAP = 300


def _read_at(cap: cv2.VideoCapture, index: int) -> np.ndarray | None:
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = cap.read()
    return bgr if ok else None


def _sample_by_seeking(path: Path, plan: Plan, short_side: int | None) -> SampledFrames | None:
    """Decode only the planned frames, seeking across wide gaps. None (the caller then
    decodes the whole file, which always tells the truth) when no gap is wide enough,
    when the header's frame count cannot be confirmed (the last frame it promises must
    decode, the next must not), or when a read fails."""
    cap = _open(path)
    try:
        header = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if header < 2 * SEEK_MIN_GAP:
            return None
        indices = [int(i) for i in plan(header)]
        wanted = sorted(set(indices))
        if not any(b - a >= SEEK_MIN_GAP for a, b in zip([0, *wanted], wanted, strict=False)):
            return None
        if _read_at(cap, header - 1) is None or _read_at(cap, header) is not None:
            return None
        kept, pos = {}, -1  # pos: index of the frame the next read returns (-1: unknown)
        for i in wanted:
            if pos < 0 or i < pos or i - pos >= SEEK_MIN_GAP:
                cap.set(cv2.CAP_PROP_POS_FRAMES, i)
                pos = i
            while pos < i:
                if not cap.grab():
                    return None
                pos += 1
            ok, bgr = cap.read()
            if not ok:
                return None
            pos += 1
            kept[i] = resize_short_side(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), short_side)
        fps = cap.get(cv2.CAP_PROP_FPS)
        fps = fps if fps and np.isfinite(fps) and fps > 0 else None
        return SampledFrames(np.stack([kept[i] for i in indices]), indices, header, fps, str(path), header)
    finally:
        cap.release()


def _sample_file(path: Path, plan: Plan, short_side: int | None) -> SampledFrames:
    seeked = _sample_by_seeking(path, plan, short_side)
    if seeked is not None:
        return seeked
    first_plan: list[int] = []

    def from_header(header: int) -> set[int]:
        if header > 0:  # some streams report no count; then the first pass only counts
            first_plan.extend(int(i) for i in plan(header))
        return set(first_plan)

    kept, n, header, fps = _decode(path, from_header, short_side)
    if n == 0:
        if header > 0:
            raise UnreadableStreamError(f"{path}: the header promises {header} frames but none decodes")
        raise EmptyVideoError(f"{path}: the video holds zero frames")
    indices = first_plan if n == header else [int(i) for i in plan(n)]
    if not set(indices) <= kept.keys():  # the header was wrong and the new plan needs other frames
        kept, n2, _, _ = _decode(path, lambda _: set(indices), short_side)
        if n2 != n or not set(indices) <= kept.keys():
            raise UnreadableStreamError(f"{path}: decoding is not repeatable ({n} then {n2} frames)")
    return SampledFrames(np.stack([kept[i] for i in indices]), indices, n, fps, str(path), header)
