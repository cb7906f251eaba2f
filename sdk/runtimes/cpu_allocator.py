"""Keep freed activation memory in the process instead of handing it back to the OS.

Why: glibc serves every allocation above its mmap threshold (at most 32 MB) with a
fresh mmap and returns it on free, so each large activation PyTorch allocates is
new memory the kernel must fault in and zero, page by page, on every call. SFC's
head over 64 frames makes many such tensors (x3d_s: 39-88 MB each): on this 2-core
CPU, x3d_s's SFC r4 went from 399 to 216 ms end to end with the thresholds below
(benchmarks/results/speed.md, against the same file at commit e0e48e0). jemalloc and tcmalloc,
which PyTorch's CPU tuning guide recommends, get the same effect by caching; this
needs no extra library.

The setting is process-wide: memory a run freed stays resident for the next run
(the resident set stays at its peak instead of falling back between calls). An
application that wants glibc left as it is sets SFC_SDK_KEEP_FREED_MEMORY=0.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

from ..defaults import keep_freed_memory_wanted

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, <malloc.h>
MMAP_THRESHOLD = 1 << 30  # allocations below 1 GiB come from the heap and are reused
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True when applied
    (False off Linux/glibc, where the allocator is left as it is)."""
    global _applied
    if _applied is None:
        _applied = False
        if sys.platform.startswith("linux") and keep_freed_memory_wanted():
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                _applied = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
                    bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
            except (OSError, AttributeError):  # musl and others: no mallopt
                _applied = False
    return _applied
