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


# The whole-video view holds every `frame_stride`-th frame up to this many (20 s of
# 25 fps video); a longer video is sampled evenly to this count, so memory stays bounded
# (it grows with the frames: I3D over a 10-s video's 280 frames peaked at 2.0 GB).
WHOLE_VIDEO_MAX_FRAMES = 512


@dataclass(frozen=True)
class Views:
    """Dense sampling: `clips` temporal clips x `crops` spatial crops, averaged; or, `whole`,
    one centre-cropped clip over the whole video, as the I3D paper tests its fully
    convolutional network ("1x1" of the video's own length)."""

    clips: int
    crops: int
    whole: bool = False

    def __post_init__(self) -> None:
        if self.clips < 1 or self.crops not in (1, 3):
            raise ConfigError(f"views need at least 1 clip and 1 or 3 crops, got {self}")
        if self.whole and (self.clips, self.crops) != (1, 1):
            raise ConfigError("the whole-video view is one centre-cropped clip")

    @classmethod
    def parse(cls, text: str) -> Views:
        """'10x3' -> Views(clips=10, crops=3); 'whole' -> the whole-video view."""
        if str(text).strip().lower() == "whole":
            return cls(1, 1, whole=True)
        m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", str(text))
        if not m:
            raise ConfigError(f"views must look like CLIPSxCROPS (1x1, 10x1, 10x3) or be 'whole', got {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @property
    def count(self) -> int:
        return self.clips * self.crops

    def __str__(self) -> str:
        return "whole" if self.whole else f"{self.clips}x{self.crops}"


def whole_video_indices(num_frames: int, clip_len: int, stride: int, multiple: int = 1) -> list[int]:
    """The whole-video view's frames: every `stride`-th frame, centred, a `multiple` of
    frames long (at least one clip's worth, the last frame repeating; at most
    `WHOLE_VIDEO_MAX_FRAMES`, spread evenly)."""
    every = list(range(0, num_frames, stride))
    if len(every) < clip_len:
        return clip_indices(num_frames, 1, clip_len, stride)[0]
    if len(every) > WHOLE_VIDEO_MAX_FRAMES:
        return uniform_indices(num_frames, WHOLE_VIDEO_MAX_FRAMES - WHOLE_VIDEO_MAX_FRAMES % multiple)
    drop = len(every) % multiple
    return every[drop // 2:len(every) - (drop - drop // 2)]
