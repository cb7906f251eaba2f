"""Which frames become samples: sample k is the first frame at or after k / rate seconds
of stream time. Only those frames are converted and resized, so a 30 fps camera sampled
at 16 fps decodes every frame but prepares about half.

Stream time is the frame's number over the file's frame rate for files, and arrival
time for live sources. A source slower than the sample rate makes one frame fill
several grid points (`repeats`); live time lost to a stall or a reconnect is a gap, so
the caller starts its window again instead of repeating one frame across it.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np


class GridSlot(NamedTuple):
    repeats: int  # grid points the frame fills
    gap: bool  # live time was lost before it


class SampleGrid:
    """The sample-rate grid over a stream's frames. Its count and clock carry across
    reopenings, so frame numbers and stream time continue after a reconnect."""

    def __init__(self, rate: float, live: bool, events: list[str]) -> None:
        self.rate = rate
        self.live = live
        self.events = events  # status lines, shared with the LiveSource
        self.frames = 0  # frames read so far, all openings together
        self.next_sample = 0  # grid index of the next sample
        self._clock0: float | None = None  # live: arrival time of the first frame
        self._said_slow = False

    def stream_time(self) -> float:
        """Seconds since the first frame arrived (live sources; 0 before it)."""
        return 0.0 if self._clock0 is None else time.monotonic() - self._clock0

    def next_frame(self, fps: float) -> tuple[int, float]:
        """Number and time-stamp the frame just read; `fps` times a file's frames."""
        frame, self.frames = self.frames, self.frames + 1
        if not self.live:
            return frame, frame / fps
        now = time.monotonic()
        if self._clock0 is None:
            self._clock0 = now
        return frame, now - self._clock0

    def due(self, time_s: float) -> int:
        """Grid points up to `time_s` not yet sampled (<= 0: the frame is not a sample)."""
        return int(np.floor(time_s * self.rate + 1e-9)) + 1 - self.next_sample

    def fill(self, frame: int, due: int) -> GridSlot:
        """Frame `frame` takes the `due` grid points up to it."""
        self.next_sample += due
        # Live time lost (more than a quarter second of grid points): a gap, not a
        # frame to repeat across it.
        gap = self.live and due > 1 + max(1.0, self.rate / 4)
        if gap:
            self.events.append(f"{(due - 1) / self.rate:.2f} s of stream lost before frame {frame}: "
                               "the window starts again")
        if due > 1 and not gap and not self._said_slow:
            self._said_slow = True
            self.events.append(f"the source gives fewer frames than the {self.rate:.3g} samples/s the window "
                               "needs: frames repeat (a longer window samples less densely)")
        return GridSlot(1 if gap else due, gap)
