"""Peak memory of this process, for the demo and the benchmarks."""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """Resident-set high-water mark of this process, in MB.

    Linux: VmHWM from /proc/self/status, which belongs to the address space and so
    starts fresh in a spawned process (getrusage's ru_maxrss can carry the parent's
    peak across fork + exec). Elsewhere: ru_maxrss.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
    return kb / 1024 / (1024 if sys.platform == "darwin" else 1)


def reset_peak_rss() -> bool:
    """Start the high-water mark afresh from the current resident set (Linux: writing 5
    to /proc/self/clear_refs), so a later `peak_rss_mb` measures what came after, not a
    one-off peak while loading. False where the system cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False
