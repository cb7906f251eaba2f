"""OpenCV's VideoCapture as a frame source: files and network streams through its
bundled FFmpeg, and camera indices (V4L2 and the platform's camera APIs)."""

from __future__ import annotations

import cv2
import numpy as np

from ...errors import NotAVideoError
from ..transforms import resize_short_side
from . import Kind, register_frame_source


def _capture(target: str | int, kind: Kind, timeout_s: float | None) -> cv2.VideoCapture:
    if kind == "camera":
        cap = cv2.VideoCapture(int(target))
    elif kind == "url" and timeout_s:
        ms = int(timeout_s * 1000)  # FFmpeg's own open and read timeouts: a dead stream never hangs
        cap = cv2.VideoCapture(str(target), cv2.CAP_FFMPEG,
                               [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
    else:
        cap = cv2.VideoCapture(str(target))
    if not cap.isOpened():
        cap.release()
        raise NotAVideoError(f"{target}: not a video, or a container no decoder here can open")
    return cap


@register_frame_source("opencv", kinds=("file", "camera", "url"))
class OpenCVSource:
    def __init__(self, target: str | int, *, kind: Kind, timeout_s: float | None = None) -> None:
        self._reopen_args = (target, kind, timeout_s)
        self._cap = _capture(target, kind, timeout_s)
        self._fresh = True  # nothing read or sought since opening
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else None
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = int(count) if np.isfinite(count) and count > 0 else 0

    def grab(self) -> bool:
        self._fresh = False
        return bool(self._cap.grab())

    def retrieve(self, short_side: int | None = None) -> np.ndarray | None:
        ok, bgr = self._cap.retrieve()
        return resize_short_side(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), short_side) if ok else None

    def seek(self, index: int) -> bool:
        self._fresh = False
        return bool(self._cap.set(cv2.CAP_PROP_POS_FRAMES, index))

    def rewind(self) -> None:
        """Without a packet index, OpenCV's seek to frame 0 is not sure to land there, so
        a source that has been read is opened again."""
        if not self._fresh:
            self._cap.release()
            self._cap = _capture(*self._reopen_args)
            self._fresh = True

    def close(self) -> None:
        self._cap.release()
