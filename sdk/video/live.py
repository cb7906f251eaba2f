"""Frames at a steady sample rate from a live source: a camera, a network stream, a file.

A reader thread owns the frame source (`sources/`), so a source that blocks (a network stream
that stops sending, a camera that stops delivering) never blocks the caller: the
caller waits on a queue with a timeout, and after a stall or a disconnect reopens the
source a bounded number of times before raising a typed error. Never a hang.

Sampling happens in the reader: sample k is the first frame at or after k / rate
seconds of stream time, and only those frames are converted and resized (grab, then
retrieve), so a 30 fps camera sampled at 16 fps decodes every frame but prepares about
half. A source slower than the sample rate repeats frames (counted in `repeats`); a
caller slower than the source loses the oldest samples (counted in `dropped`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, StreamDisconnectedError, StreamOpenError, StreamStalledError, VideoError
from .sources import FrameSource, open_frame_source, source_kind

FOLLOW_POLL_S = 0.5  # how often a followed file is checked for new frames
CLOSE_JOIN_S = 2.0  # close() waits this long for a reader blocked in a network read
Prepare = Callable[[np.ndarray], Any]  # an (H, W, 3) uint8 RGB frame -> what the caller keeps


@dataclass(frozen=True)
class SourceOptions:
    stall_timeout_s: float = 5.0  # no frame for this long: the source counts as stalled
    reconnects: int = 3  # reopen attempts after a stall or disconnect before giving up
    reconnect_delay_s: float = 0.5  # before the first reopen; doubles each attempt, at most 5 s
    open_timeout_s: float = 5.0  # network sources: FFmpeg's own open/read timeouts
    fps: float | None = None  # files: frame rate for time stamps when the header has none (else 25)
    follow: bool = False  # files: at the end, wait for more frames (a recording being written)
    queue_samples: int = 256  # samples buffered for a slow caller; live sources drop the oldest beyond it

    def __post_init__(self) -> None:
        if self.stall_timeout_s <= 0 or self.open_timeout_s <= 0:
            raise ConfigError("stall and open timeouts must be positive")
        if self.reconnects < 0 or self.reconnect_delay_s < 0:
            raise ConfigError("reconnects and reconnect delay must be >= 0")
        if self.queue_samples < 1:
            raise ConfigError("queue_samples must be at least 1")


@dataclass
class Sample:
    data: Any  # the frame after the caller's `prepare`
    frame: int  # source frame number since the stream started (continues across reconnects)
    time_s: float  # stream time of that frame
    repeats: int  # grid points this frame fills (> 1: the source is slower than the sample rate)
    gap: bool = False  # live: time was lost before this frame (a stall or reconnect): start a new window


_END = object()  # the reader's source ended (end of file, connection closed, camera gone)


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
        self.dropped = 0  # samples lost because the caller fell behind (live sources)
        self.fps: float | None = None  # the source's nominal frame rate, when it states one
        self._queue: queue.Queue = queue.Queue(maxsize=self.options.queue_samples)
        self._generation = 0  # bumped on every (re)open; an abandoned reader's output is ignored
        self._stop = threading.Event()
        self._readers: list[threading.Thread] = []
        self._frames = 0  # frames read so far, all openings together
        self._next_sample = 0  # grid index of the next sample
        self._clock0: float | None = None  # live: arrival time of the first frame
        self._said_slow = False
        self._lock = threading.Lock()
        if self.kind == "file" and not Path(source).is_file():
            raise StreamOpenError(f"no such video file: {source}")

    # --- opening -------------------------------------------------------------
    def _open(self) -> FrameSource:
        timeout = self.options.open_timeout_s if self.kind == "url" else None
        try:
            src = open_frame_source(self.source, kind=self.kind, timeout_s=timeout)
        except VideoError:
            what = {"camera": "camera index", "url": "stream", "file": "video file"}[self.kind]
            raise StreamOpenError(f"cannot open {what} {self.source}") from None
        self.fps = src.fps if src.fps and src.fps < 1000 else None
        return src

    def _start_reader(self) -> None:
        src = self._open()
        with self._lock:
            self._generation += 1
            generation = self._generation
        reader = threading.Thread(target=self._read, args=(src, generation), daemon=True,
                                  name=f"sfc-live-{generation}")
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

    # --- the reader thread -------------------------------------------------
    def _timestamp(self, frame: int) -> float:
        if self.live:
            now = time.monotonic()
            if self._clock0 is None:
                self._clock0 = now
            return now - self._clock0
        return frame / (self.fps or self.options.fps or 25.0)

    def _read(self, src: FrameSource | None, generation: int) -> None:
        try:
            while self._read_until_end(src, generation) and self.options.follow and self.kind == "file":
                src.close()
                src = self._wait_for_growth(generation)
                if src is None:
                    break
        except Exception as exc:  # noqa: BLE001 - a decoder error ends this opening like a disconnect
            self.events.append(f"reader error: {exc}")
        finally:
            if src is not None:
                src.close()
            self._put(_END, generation)

    def _read_until_end(self, src: FrameSource, generation: int) -> bool:
        """Read and sample until the source ends (True) or this reader is abandoned (False)."""
        while not self._stop.is_set() and generation == self._generation:
            if not src.grab():
                return True
            frame, self._frames = self._frames, self._frames + 1
            t = self._timestamp(frame)
            due = int(np.floor(t * self.rate + 1e-9)) + 1 - self._next_sample  # grid points up to t
            if due <= 0:
                continue  # between grid points: decoded, never converted
            rgb = src.retrieve()
            if rgb is None:
                return True
            self._next_sample += due
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
            data = self.prepare(rgb)
            self._put(Sample(data, frame, t, 1 if gap else due, gap), generation)
        return False

    def _wait_for_growth(self, generation: int) -> FrameSource | None:
        """A file being written: once it grows, reopen it past the frames already read;
        None once it has not grown for the stall timeout. A half-written AVI or MKV decodes
        up to its last flushed frame (an MP4 does not: its index is written last). FFmpeg
        cannot seek in a file without an index, so reopening decodes its way past the frames
        already read: fine for minutes of recording, slow for hours."""
        path = Path(self.source)
        size, waited = path.stat().st_size, 0.0
        while waited < self.options.stall_timeout_s and not self._stop.is_set() and generation == self._generation:
            time.sleep(FOLLOW_POLL_S)
            waited += FOLLOW_POLL_S
            if path.stat().st_size != size:
                try:
                    src = open_frame_source(path, kind="file")
                except VideoError:  # the new part is not readable yet: wait for more
                    size = path.stat().st_size
                    continue
                skipped = 0
                while skipped < self._frames and src.grab():
                    skipped += 1
                if skipped < self._frames:
                    src.close()
                    self.events.append("the followed file got shorter (rewritten?): stopped")
                    return None
                return src
        self.events.append(f"the file stopped growing for {self.options.stall_timeout_s:g} s")
        return None

    def _put(self, item: object, generation: int) -> None:
        while not self._stop.is_set() and generation == self._generation:
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if self.live and item is not _END:
                    try:  # a live source does not wait for a slow caller: the oldest sample goes
                        self._queue.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass

    # --- the caller's side ---------------------------------------------------
    def __iter__(self) -> Iterator[Sample]:
        opts = self.options
        self._start_first_reader()
        self.events.append(f"opened {self.kind} {self.source}" + (f" ({self.fps:g} fps)" if self.fps else ""))
        failures = 0
        try:
            while True:
                try:
                    # A followed file's reader decides itself when the file stopped growing.
                    follow = opts.follow and not self.live
                    item = self._queue.get(timeout=None if follow else opts.stall_timeout_s)
                except queue.Empty:
                    item = None
                if isinstance(item, Sample):
                    if failures:
                        self.events.append(f"reconnected after {failures} attempt(s)")
                        failures = 0
                    yield item
                    continue
                if item is _END and not self.live:
                    self.events.append("ended")
                    return
                reason = "stalled" if item is None else "disconnected"
                detail = f"no frame for {opts.stall_timeout_s:g} s" if item is None else "the source ended"
                failures = self._reconnect(reason, detail, failures)
        finally:
            self.close()

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

    def stream_time(self) -> float:
        """Seconds since the first frame arrived (live sources; 0 before it)."""
        return 0.0 if self._clock0 is None else time.monotonic() - self._clock0

    def pending(self) -> int:
        """Samples read but not yet taken by the caller."""
        return self._queue.qsize()

    def close(self) -> None:
        """Stop reading and wait (briefly) for the reader threads to let go of the capture:
        a process that exits while a reader is inside the decoder can abort in the
        decoder's own teardown ("terminate called without an active exception")."""
        self._stop.set()
        for reader in self._readers:
            if reader is not threading.current_thread():
                reader.join(timeout=CLOSE_JOIN_S)
