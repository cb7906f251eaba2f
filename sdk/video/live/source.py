"""`LiveSource`: iterate samples of a camera, a network stream or a file at a steady rate.

The source is opened here and handed to a reader thread (`reader.py`); the caller waits
on the sample buffer (`buffer.py`) with a timeout. After a stall or a disconnect the
reader is abandoned (a generation number makes its late output count for nothing) and
the source reopened a bounded number of times, with a growing delay, before a typed
error. Never a hang.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ...errors import ConfigError, StreamDisconnectedError, StreamOpenError, StreamStalledError, VideoError
from ..sources import FrameSource, open_frame_source, source_kind
from .buffer import END, SampleBuffer
from .follow import FOLLOW_POLL_S
from .grid import SampleGrid
from .options import Sample, SourceOptions
from .reader import Prepare, Reader

CLOSE_JOIN_S = 2.0  # close() waits this long for a reader blocked in a network read
_WHAT = {"camera": "camera index", "url": "stream", "file": "video file"}


class LiveSource:
    """Iterate `Sample`s at `rate` per second of stream time.

        src = LiveSource("rtsp://camera/stream", rate=16, prepare=my_preprocess)
        for sample in src: ...

    Files are read as fast as the caller takes samples (nothing dropped) and end at
    their last frame; cameras and URLs run on arrival time and reconnect on failure.
    `events` records every status change as a line of text.
    """

    def __init__(self, source: str | int | Path, rate: float, *, prepare: Prepare | None = None,
                 options: SourceOptions | None = None) -> None:
        if not rate > 0:
            raise ConfigError(f"sample rate must be positive, got {rate}")
        self.source = source
        self.kind = source_kind(source)
        if self.kind == "frames":
            raise ConfigError("live input is a camera index, a stream URL or a video file; "
                              "frames already in memory go to Recognizer.predict")
        self.live = self.kind != "file"
        self.rate = float(rate)
        self.prepare = prepare or (lambda rgb: rgb)
        self.options = options or SourceOptions()
        self.events: list[str] = []
        self.fps: float | None = None  # the source's nominal frame rate, when it states one
        self._buffer = SampleBuffer(self.options.queue_samples, self.live)
        self._grid = SampleGrid(self.rate, self.live, self.events)
        self._generation = 0  # bumped on every (re)open; an abandoned reader's output is ignored
        self._stop = threading.Event()
        self._readers: list[Reader] = []
        self._lock = threading.Lock()
        if self.kind == "file" and not Path(source).is_file():
            raise StreamOpenError(f"no such video file: {source}")

    @property
    def dropped(self) -> int:
        """Samples lost because the caller fell behind (live sources)."""
        return self._buffer.dropped

    # --- opening and reconnecting ---------------------------------------------
    def _open(self) -> FrameSource:
        timeout = self.options.open_timeout_s if self.kind == "url" else None
        try:
            src = open_frame_source(self.source, kind=self.kind, timeout_s=timeout)
        except VideoError:
            raise StreamOpenError(f"cannot open {_WHAT[self.kind]} {self.source}") from None
        self.fps = src.fps if src.fps and src.fps < 1000 else None
        return src

    def _start_reader(self) -> None:
        src = self._open()
        with self._lock:
            self._generation += 1
            generation = self._generation
        follow = Path(self.source) if self.options.follow and self.kind == "file" else None
        reader = Reader(src, name=f"sfc-live-{generation}", grid=self._grid, buffer=self._buffer,
                        prepare=self.prepare, fps=self.fps or self.options.fps or 25.0,
                        current=lambda: not self._stop.is_set() and generation == self._generation,
                        events=self.events, follow=follow, stall_timeout_s=self.options.stall_timeout_s)
        self._readers.append(reader)
        reader.start()

    def _start_first_reader(self) -> None:
        """Open the source; a followed file that is too new to open (its header not yet
        flushed) gets the stall timeout to become readable."""
        deadline = time.monotonic() + self.options.stall_timeout_s
        while True:
            try:
                return self._start_reader()
            except StreamOpenError:
                if not (self.options.follow and self.kind == "file") or time.monotonic() > deadline:
                    raise
                time.sleep(FOLLOW_POLL_S)

    def _reconnect(self, reason: str, detail: str, failures: int) -> int:
        """Reopen the source; returns the failure count, raises once reconnects are spent."""
        with self._lock:
            self._generation += 1  # abandon the current reader (it may be blocked in a read)
        while failures < self.options.reconnects:
            failures += 1
            self.events.append(f"{reason}: {detail}; reconnect {failures}/{self.options.reconnects}")
            time.sleep(min(5.0, self.options.reconnect_delay_s * 2 ** (failures - 1)))
            try:
                self._start_reader()
                return failures
            except StreamOpenError as exc:
                detail = str(exc)
        error = StreamStalledError if reason == "stalled" else StreamDisconnectedError
        self.events.append(f"gave up: {detail}")
        raise error(f"{self.source}: {reason} ({detail}); gave up after {self.options.reconnects} reconnect(s)")

    # --- the caller's side ---------------------------------------------------
    def __iter__(self) -> Iterator[Sample]:
        opts = self.options
        self._start_first_reader()
        self.events.append(f"opened {self.kind} {self.source}" + (f" ({self.fps:g} fps)" if self.fps else ""))
        # A followed file's reader decides itself when the file stopped growing.
        timeout = None if opts.follow and not self.live else opts.stall_timeout_s
        failures = 0
        try:
            while True:
                item = self._buffer.get(timeout)
                if isinstance(item, Sample):
                    if failures:
                        self.events.append(f"reconnected after {failures} attempt(s)")
                        failures = 0
                    yield item
                    continue
                if item is END and not self.live:
                    self.events.append("ended")
                    return
                reason = "stalled" if item is None else "disconnected"
                detail = f"no frame for {opts.stall_timeout_s:g} s" if item is None else "the source ended"
                failures = self._reconnect(reason, detail, failures)
        finally:
            self.close()

    def stream_time(self) -> float:
        """Seconds since the first frame arrived (live sources; 0 before it)."""
        return self._grid.stream_time()

    def pending(self) -> int:
        """Samples read but not yet taken by the caller."""
        return self._buffer.pending()

    def close(self) -> None:
        """Stop reading and wait (briefly) for the reader threads to let go of the capture:
        a process that exits while a reader is inside the decoder can abort in the
        decoder's own teardown ("terminate called without an active exception")."""
        self._stop.set()
        for reader in self._readers:
            if reader is not threading.current_thread():
                reader.join(timeout=CLOSE_JOIN_S)
