"""Which frames to decode for a sampling plan: a cost plan from the keyframe positions.

A decoder can only start at a keyframe. To reach a sampled frame it either keeps
decoding from where it is (every frame in between costs a decode) or seeks to the
keyframe before the frame and decodes forward from there (those frames, plus a fixed
cost: the decoder is flushed and its frame threads and B-frame delay refill). The plan
takes whichever is cheaper, frame by frame, so a short clip is decoded straight through
and an hour-long one visits a few dozen keyframes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

# A seek costs about this many frame decodes beyond the frames it decodes (flushing and
# refilling a frame-threaded decoder). The plan is not sensitive to it: any value from 0
# to 16 gave the same times within noise on the videos of benchmarks/decode.py.
SEEK_COST_FRAMES = 8


@dataclass
class DecodeRun:
    """Decode from keyframe `start` forward, keeping the frames in `take` (ascending)."""

    start: int
    take: list[int] = field(default_factory=list)

    @property
    def decoded(self) -> int:
        return self.take[-1] - self.start + 1


def plan_decode_runs(wanted: Sequence[int], keyframes: Sequence[int],
                     seek_cost: int = SEEK_COST_FRAMES) -> list[DecodeRun]:
    """Runs that decode every frame in `wanted` (any order, repeats allowed) at the least
    cost. `keyframes`: the frame indices a decode may start at, ascending. A frame before
    the first keyframe is reached from frame 0 (the decoder's own start)."""
    runs: list[DecodeRun] = []
    next_out = 0  # the frame the decoder outputs next if it keeps going
    for i in sorted(set(wanted)):
        k = bisect_right(keyframes, i)
        key = keyframes[k - 1] if k else 0
        through = i - next_out  # frames decoded (and dropped) by going on
        seek = i - key + seek_cost
        if not runs or i < next_out or (key > next_out and seek < through):
            runs.append(DecodeRun(key))
        runs[-1].take.append(i)
        next_out = i + 1
    return runs


def frames_decoded(runs: Sequence[DecodeRun]) -> int:
    """Frames the plan decodes in all (the cost without the seeks)."""
    return sum(r.decoded for r in runs)
