"""What a caller of `LiveSource` passes (`SourceOptions`) and gets (`Sample`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError


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
