"""Frames at a steady sample rate from a live source: a camera, a network stream, a file.

    src = LiveSource("rtsp://camera/stream", rate=16, prepare=my_preprocess)
    for sample in src: ...

One idea a module:

- `source.py`   `LiveSource`: opens the source, hands it to a reader thread, and
                reopens it after a stall or disconnect, a bounded number of times
                before a typed error. Never a hang.
- `reader.py`   the reader thread: owns the opened source, so a source that blocks
                never blocks the caller; follows a file that is still being written.
- `grid.py`     which frames become samples (the sample-rate grid), and the gaps and
                repeats a source's own rate causes.
- `buffer.py`   the bounded buffer between reader and caller, and what it drops.
- `options.py`  `SourceOptions` and `Sample`, what callers pass and get.
"""

from .options import Sample, SourceOptions
from .source import LiveSource

__all__ = ["LiveSource", "Sample", "SourceOptions"]
