"""The reader thread: one opening of a live source, read until it ends or is abandoned.

The thread owns the frame source, so a source that blocks (a network stream that stops
sending, a camera that stops delivering) blocks only this thread: the caller waits on
the buffer with a timeout and may abandon the reader and open a new one. Frames are
grabbed (decoded) one by one; only those the sample grid takes are converted, prepared
and buffered. The end of the source, or an error, is buffered as `END`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..sources import FrameSource
from .buffer import END, SampleBuffer
from .follow import reopen_grown
from .grid import SampleGrid
from .options import Sample

Prepare = Callable[[np.ndarray], Any]  # an (H, W, 3) uint8 RGB frame -> what the caller keeps


class Reader(threading.Thread):
    """Reads `src` on its own (daemon) thread while `current()` says it still counts.
    `fps` times a file's frames; `follow`: a file whose end is waited past (`follow.py`)."""

    def __init__(self, src: FrameSource, *, name: str, grid: SampleGrid, buffer: SampleBuffer, prepare: Prepare,
                 fps: float, current: Callable[[], bool], events: list[str], follow: Path | None = None,
                 stall_timeout_s: float = 5.0) -> None:
        super().__init__(name=name, daemon=True)
        self._src: FrameSource | None = src
        self._grid, self._buffer, self._prepare, self._fps = grid, buffer, prepare, fps
        self._current, self._events = current, events
        self._follow, self._stall_timeout_s = follow, stall_timeout_s

    def run(self) -> None:
        try:
            while self._read_until_end() and self._follow is not None:
                self._src.close()
                self._src = None
                self._src = reopen_grown(self._follow, self._grid.frames, self._stall_timeout_s, self._current,
                                         self._events)
                if self._src is None:
                    break
        except Exception as exc:  # noqa: BLE001 - a decoder error ends this opening like a disconnect
            self._events.append(f"reader error: {exc}")
        finally:
            if self._src is not None:
                self._src.close()
            self._buffer.put(END, self._current)

    def _read_until_end(self) -> bool:
        """Read and sample until the source ends (True) or this reader is abandoned (False)."""
        src, grid = self._src, self._grid
        while self._current():
            if not src.grab():
                return True
            frame, t = grid.next_frame(self._fps)
            due = grid.due(t)
            if due <= 0:
                continue  # between grid points: decoded, never converted
            rgb = src.retrieve()
            if rgb is None:
                return True
            repeats, gap = grid.fill(frame, due)
            self._buffer.put(Sample(self._prepare(rgb), frame, t, repeats, gap), self._current)
        return False
