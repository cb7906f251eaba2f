"""Following a video file that is still being written (`SourceOptions.follow`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ...errors import VideoError
from ..sources import FrameSource, open_frame_source

FOLLOW_POLL_S = 0.5  # how often a followed file is checked for new frames


def reopen_grown(path: Path, frames_read: int, stall_timeout_s: float, current: Callable[[], bool],
                 events: list[str]) -> FrameSource | None:
    """Once the file grows, reopen it past the `frames_read` frames already read; None
    once it has not grown for `stall_timeout_s` (or the reader was abandoned). A
    half-written AVI or MKV decodes up to its last flushed frame (an MP4 does not: its
    index is written last). FFmpeg cannot seek in a file without an index, so reopening
    decodes its way past the frames already read: fine for minutes of recording, slow
    for hours."""
    size, waited = path.stat().st_size, 0.0
    while waited < stall_timeout_s and current():
        time.sleep(FOLLOW_POLL_S)
        waited += FOLLOW_POLL_S
        if path.stat().st_size == size:
            continue
        try:
            src = open_frame_source(path, kind="file")
        except VideoError:  # the new part is not readable yet: wait for more
            size = path.stat().st_size
            continue
        skipped = 0
        while skipped < frames_read and src.grab():
            skipped += 1
        if skipped < frames_read:
            src.close()
            events.append("the followed file got shorter (rewritten?): stopped")
            return None
        return src
    events.append(f"the file stopped growing for {stall_timeout_s:g} s")
    return None
