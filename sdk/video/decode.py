"""Video input: a file path, a (T, H, W, 3) uint8 RGB array, or a list of frames.

`sample_frames(video, plan, short_side)` decodes only the frames a sampling plan asks
for, resizing each as soon as it is decoded, so memory holds the sampled frames, not
the video. Every input is read through a frame source (`sources/`).

Files go to PyAV (`sources/pyav.py`): the frame count comes from the demuxed packets,
and only the frames the plan needs are decoded (seeking to keyframes where that is
cheaper). Where that cannot be sure of a frame, or for a source without a packet index,
the decoded count is the truth: the plan is made from the header, then re-made from the
decoded count if they differ (one Kinetics clip's MKV header counts a frame that does
not decode), with a second pass only when frames the new plan needs were not kept.

A sample opens its file once: the fast path, the full decode and its second pass all
read the one source, each pass rewinding it (`FrameSource.rewind`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import (
    ConfigError,
    EmptyVideoError,
    InvalidFramesError,
    NotAVideoError,
    StillImageError,
    UnreadableStreamError,
    VideoNotFoundError,
)
from .sources import FrameSource, IndexedSource, open_frame_source, source_kind

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
    video_stream: int | None = None  # the video stream read, by its index in the container (files read by PyAV)
    video_streams: tuple[int, ...] = ()  # every video stream of the file (several: `video_stream` says which)

    def seconds(self, frame_index: int) -> float | None:
        return None if not self.fps else frame_index / self.fps


def sample_frames(video: VideoInput, plan: Plan, short_side: int | None, fps: float | None = None,
                  nearest: bool = False, video_stream: int | None = None) -> SampledFrames:
    """Decode the frames `plan(num_frames)` names from a path, array or list of frames.
    `fps` gives in-memory frames a rate (files use their container's). `nearest`: a file's
    decoder may skip non-reference frames and hand out the nearest decoded frame instead,
    less than half the plan's smallest gap away (`indices` then says which frames came).
    `video_stream`: which video stream of a file with several (its container index; None: the one
    FFmpeg would pick)."""
    if isinstance(video, (str, os.PathLike)):
        if isinstance(video, str) and "://" in video:  # Path() would fold "http://" into "http:/"
            raise NotAVideoError(f"{video}: a URL or live stream, not a file; `sfc-sdk watch {video}` "
                                 "(Recognizer.stream) recognises streams as they play")
        path = Path(video)
        _check_file(path)
        return _sample(path, str(path), plan, short_side, None, nearest, video_stream)
    if source_kind(video) != "frames":  # a camera index or URL is live input (live/), not a video to sample
        raise InvalidFramesError(
            f"video must be a path, a (T, H, W, 3) uint8 array or a list of frames, not {type(video).__name__}")
    if video_stream is not None:
        raise ConfigError("video_stream= chooses a video stream of a file; frames in memory have one")
    return _sample(video, "<frames>", plan, short_side, fps)


def nearest_tolerance(indices: Sequence[int]) -> int:
    """How far a stand-in frame may be from a sampled one: under half the smallest gap
    between sampled frames, so no two samples can share a stand-in and each stays
    nearer its own place in the plan than its neighbours'."""
    distinct = sorted(set(indices))
    gaps = [b - a for a, b in zip(distinct, distinct[1:], strict=False)]
    return (min(gaps) - 1) // 2 if gaps else 0


# Animated GIFs are clips and decode as videos (a still one is refused by its frame count).
_IMAGE_SIGNATURES = ((b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"BM", "BMP"))


def _check_file(path: Path) -> None:
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
            raise StillImageError(f"{path}: this is a {kind} image, not a video")


def _in_memory(video: object) -> bool:
    return not isinstance(video, Path)


def _open(video: object, video_stream: int | None = None) -> FrameSource:
    """A path is a file whatever its name looks like; anything else here is frames in memory."""
    def opened() -> FrameSource:
        return open_frame_source(video, kind="frames" if _in_memory(video) else "file", video_stream=video_stream)

    source = opened()
    return source if hasattr(source, "rewind") else _ReopenToRewind(source, opened)


class _ReopenToRewind:
    """A registered frame source without `rewind` (written before it existed): rewinding
    opens it again; everything else is the source's own."""

    def __init__(self, source: FrameSource, opened: Callable[[], FrameSource]) -> None:
        self._source, self._opened = source, opened

    def rewind(self) -> None:
        self._source.close()
        self._source = self._opened()

    def __getattr__(self, name: str):
        return getattr(self._source, name)


def _streams(source: FrameSource) -> dict:
    """Which video stream a file source read, and which it had (PyAV says; others: nothing)."""
    return {"video_stream": getattr(source, "video_stream", None),
            "video_streams": getattr(source, "video_streams", ())}


def _sample(video: Path | np.ndarray | Sequence[np.ndarray], name: str, plan: Plan, short_side: int | None,
            fps: float | None, nearest: bool = False, video_stream: int | None = None) -> SampledFrames:
    source = _open(video, video_stream)
    try:  # an indexed source (PyAV) plans its own seeks; others seek across wide gaps only
        if isinstance(source, IndexedSource):
            sampled = _sample_indexed(source, plan, short_side, name, nearest)
        else:
            sampled = _sample_by_seeking(source, plan, short_side, name)
        if sampled is None:  # the same opened source, read again from its first frame
            sampled = _sample_by_decoding(source, plan, short_side, name)
        streams = _streams(source)
    finally:
        source.close()
    return _with_rate(replace(sampled, **streams), fps, _in_memory(video))


def _sample_by_decoding(source: FrameSource, plan: Plan, short_side: int | None, name: str) -> SampledFrames:
    """The planned frames by decoding the whole video, whose decoded count is the truth:
    planned from the header's count, and decoded a second time only when the true count
    differs and its plan needs frames the first pass did not keep."""
    first_plan: list[int] = []

    def from_header(header: int) -> set[int]:
        if header > 0:  # some streams report no count; then the first pass only counts
            first_plan.extend(int(i) for i in plan(header))
        return set(first_plan)

    kept, n, header = _decode(source, from_header, short_side)
    if n == 0:
        if header > 0:
            raise UnreadableStreamError(f"{name}: the header promises {header} frames but none decodes")
        raise EmptyVideoError(f"{name}: the video holds zero frames")
    indices = first_plan if n == header else [int(i) for i in plan(n)]
    if indices and not 0 <= min(indices) <= max(indices) < n:  # a plan's mistake, not the video's
        raise ValueError(f"the sampling plan asks for frames {min(indices)}-{max(indices)} of a {n}-frame video")
    if not set(indices) <= kept.keys():  # the header was wrong and the new plan needs other frames
        kept, n2, _ = _decode(source, lambda _: set(indices), short_side)
        if n2 != n or not set(indices) <= kept.keys():
            raise UnreadableStreamError(f"{name}: decoding is not repeatable ({n} then {n2} frames)")
    return SampledFrames(np.stack([kept[i] for i in indices]), indices, n, source.fps, name, header)


def _with_rate(clip: SampledFrames, fps: float | None, in_memory: bool) -> SampledFrames:
    """In-memory frames: the caller's rate, and no header to report."""
    if in_memory:
        clip.fps, clip.header_frames = fps, None
    return clip


def _sample_indexed(source: IndexedSource, plan: Plan, short_side: int | None, name: str,
                    nearest: bool) -> SampledFrames | None:
    """The planned frames from a source with a packet index (or their nearest decoded
    stand-ins); None where it cannot deliver them (then a full decode decides)."""
    n = source.frame_count
    if n <= 0:
        return None
    indices = [int(i) for i in plan(n)]
    wanted = sorted(set(indices))
    tolerance = nearest_tolerance(wanted) if nearest else 0
    kept = source.read_frames(wanted, short_side, tolerance)
    if kept is None and tolerance:  # no stand-in near enough somewhere: the exact frames
        kept = source.read_frames(wanted, short_side)
    if kept is None:
        return None
    return SampledFrames(np.stack([kept[i].rgb for i in indices]), [kept[i].index for i in indices], n, source.fps,
                         name, source.header_frames or None)


def _decode(source: FrameSource, choose: Callable[[int], set[int]], short_side: int | None
            ) -> tuple[dict[int, np.ndarray], int, int]:
    """One sequential pass over the whole video, from its first frame. `choose(header_count)`
    names the frames to keep (resized RGB). Returns them, the decoded frame count and the
    header's count."""
    source.rewind()
    header = getattr(source, "header_frames", None) or source.frame_count
    wanted = choose(header)
    kept: dict[int, np.ndarray] = {}
    n = 0
    # grab() decodes without the colour conversion; retrieve() only the wanted frames.
    # Decoding runs to the end, because only the decoded count can be trusted.
    while source.grab():
        if n in wanted:
            rgb = source.retrieve(short_side)
            if rgb is None:
                break
            kept[n] = rgb
        n += 1
    return kept, n, header


# Long videos: seek over the gaps between sampled frames instead of decoding them.
# A seek lands on the keyframe before its target and decodes forward, so it is only
# used across gaps wider than the usual longest keyframe interval (250 frames, x264's
# default); shorter gaps are decoded through, as before. A 60-minute video took 6 s to
# decode end to end for 64 frames.
SEEK_MIN_GAP = 300


def _read_at(source: FrameSource, index: int) -> np.ndarray | None:
    if not source.seek(index) or not source.grab():
        return None
    return source.retrieve(None)


def _sample_by_seeking(source: FrameSource, plan: Plan, short_side: int | None, name: str) -> SampledFrames | None:
    """Decode only the planned frames, seeking across wide gaps. None (the caller then
    decodes the whole video, which always tells the truth) when no gap is wide enough,
    when the header's frame count cannot be confirmed (the last frame it promises must
    decode, the next must not), or when a seek or read fails."""
    header = source.frame_count
    if header < 2 * SEEK_MIN_GAP:
        return None
    indices = [int(i) for i in plan(header)]
    wanted = sorted(set(indices))
    if not any(b - a >= SEEK_MIN_GAP for a, b in zip([0, *wanted], wanted, strict=False)):
        return None
    if _read_at(source, header - 1) is None or _read_at(source, header) is not None:
        return None
    kept, pos = {}, -1  # pos: index of the frame the next grab decodes (-1: unknown)
    for i in wanted:
        if pos < 0 or i < pos or i - pos >= SEEK_MIN_GAP:
            if not source.seek(i):
                return None
            pos = i
        while pos < i:
            if not source.grab():
                return None
            pos += 1
        rgb = source.retrieve(short_side) if source.grab() else None
        if rgb is None:
            return None
        pos += 1
        kept[i] = rgb
    return SampledFrames(np.stack([kept[i] for i in indices]), indices, header, source.fps, name, header)
