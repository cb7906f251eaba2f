"""The bounded buffer between the reader thread and the caller.

A file's reader waits for a slow caller (nothing is dropped: the file is read as fast as
it is taken). A live source cannot wait, so the oldest sample goes and is counted in
`dropped`; the caller always gets the newest frames.
"""

from __future__ import annotations

import queue
from collections.abc import Callable

END = object()  # the reader's source ended (end of file, connection closed, camera gone)
_PUT_POLL_S = 0.1  # a blocked put checks this often whether its reader was abandoned


class SampleBuffer:
    def __init__(self, size: int, live: bool) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=size)
        self.live = live
        self.dropped = 0  # samples lost because the caller fell behind (live sources)

    def put(self, item: object, current: Callable[[], bool]) -> None:
        """Add `item` (a sample, or END) while `current()` says its reader still counts;
        an abandoned reader's output is thrown away."""
        while current():
            try:
                self._queue.put(item, timeout=_PUT_POLL_S)
                return
            except queue.Full:
                if self.live and item is not END:
                    self._drop_oldest()

    def _drop_oldest(self) -> None:
        try:
            self._queue.get_nowait()
            self.dropped += 1
        except queue.Empty:  # the caller took one meanwhile
            pass

    def get(self, timeout: float | None) -> object | None:
        """The next item, or None after `timeout` seconds without one (None: wait)."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def pending(self) -> int:
        """Samples read but not yet taken."""
        return self._queue.qsize()
