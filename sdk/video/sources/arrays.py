"""Frames already in memory, a (T, H, W, 3) uint8 RGB array or a list of (H, W, 3) frames,
as a frame source, so they are sampled exactly as a file is."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import EmptyVideoError, InvalidFramesError
from ..transforms import resize_short_side
from . import register_frame_source


def check_frames(video: object) -> Sequence[np.ndarray]:
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


@register_frame_source("arrays", kinds=("frames",))
class ArraySource:
    fps = None  # arrays carry no rate: callers pass one for time stamps

    def __init__(self, frames: np.ndarray | Sequence[np.ndarray], *, kind: str = "frames",
                 timeout_s: float | None = None) -> None:
        self._frames = check_frames(frames)
        self.frame_count = len(self._frames)
        self._next = 0
        self._current = -1

    def grab(self) -> bool:
        if self._next >= self.frame_count:
            return False
        self._current, self._next = self._next, self._next + 1
        return True

    def retrieve(self, short_side: int | None = None) -> np.ndarray | None:
        if self._current < 0:
            return None
        return resize_short_side(np.ascontiguousarray(self._frames[self._current]), short_side)

    def seek(self, index: int) -> bool:
        self._next = index
        return True

    def rewind(self) -> None:
        self._next, self._current = 0, -1

    def close(self) -> None:
        pass
