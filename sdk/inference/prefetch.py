"""Work on the next items in a background thread while the caller uses the current one.

Batch prediction decodes the next video while the runtime runs this one: FFmpeg (via
OpenCV or PyAV) and the runtimes release the GIL, so the two overlap on separate cores.
The queue between them is bounded, so at most `depth` prepared items wait in memory.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_END = object()


def prefetched(items: Iterable[T], work: Callable[[T], R], depth: int = 2,
               timeout_s: float | None = None) -> Iterator[R]:
    """`work(item)` for each item, in order, computed up to `depth` items ahead in a
    background thread. An exception from `work`, or from `items` itself (a lazy source),
    is raised here, at its turn; `timeout_s`: TimeoutError when nothing arrives for that
    long. Closing the iterator early stops the thread after the item it is on."""
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                out.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                try:
                    value: object = (work(item), None)
                except BaseException as e:  # handed to the consumer, raised at this item's turn
                    value = (None, e)
                if not put(value) or value[1] is not None:
                    return
        except BaseException as e:  # the items failed: raised at the next turn
            put((None, e))
            return
        put(_END)

    thread = threading.Thread(target=produce, name="sfc-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            try:
                value = out.get(timeout=timeout_s)
            except queue.Empty:
                raise TimeoutError(f"nothing arrived for {timeout_s:g} s") from None
            if value is _END:
                return
            result, error = value
            if error is not None:
                raise error
            yield result
    finally:
        stop.set()
        thread.join(timeout=5)
