"""Which frames to sample: one long uniform pass (SFC) or N clips x M crops (dense).

Plans are functions of the frame count, so the decoder can re-plan when a container's
header count turns out wrong (see `decode.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError


def uniform_indices(num_frames: int, count: int) -> list[int]:
    """`count` frames spread evenly over the whole video (the centre of `count` equal
    segments). With fewer frames than `count`, frames repeat."""
    return [min(num_frames - 1, int((k + 0.5) * num_frames / count)) for k in range(count)]


def clip_indices(num_frames: int, num_clips: int, clip_len: int, stride: int) -> list[list[int]]:
    """`num_clips` clips of `clip_len` frames `stride` apart, their starts spread evenly
    from the first to the last possible position. A video shorter than one clip span
    repeats its last frame."""
    span = (clip_len - 1) * stride + 1
    room = max(num_frames - span, 0)
    starts = [room // 2] if num_clips == 1 else [round(i * room / (num_clips - 1)) for i in range(num_clips)]
    return [[min(s + j * stride, num_frames - 1) for j in range(clip_len)] for s in starts]


@dataclass(frozen=True)
class Views:
    """Dense sampling: `clips` temporal clips x `crops` spatial crops, averaged."""

    clips: int
    crops: int

    def __post_init__(self) -> None:
        if self.clips < 1 or self.crops not in (1, 3):
            raise ConfigError(f"views need at least 1 clip and 1 or 3 crops, got {self}")

    @classmethod
    def parse(cls, text: str) -> Views:
        """'10x3' -> Views(clips=10, crops=3)."""
        m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", str(text))
        if not m:
            raise ConfigError(f"views must look like CLIPSxCROPS (1x1, 10x1, 10x3), got {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @property
    def count(self) -> int:
        return self.clips * self.crops

    def __str__(self) -> str:
        return f"{self.clips}x{self.crops}"
