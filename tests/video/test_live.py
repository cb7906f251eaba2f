"""The parts of `LiveSource` on their own: the sample-rate grid, the buffer and what it
drops, and a real file read through the reader thread."""

from __future__ import annotations

import numpy as np

from sfc_sdk.video.live import LiveSource, Sample
from sfc_sdk.video.live.buffer import END, SampleBuffer
from sfc_sdk.video.live.grid import SampleGrid


def _sampled(grid: SampleGrid, frames: int, fps: float) -> list[tuple[int, int]]:
    """(frame, repeats) of each frame the grid takes, reading `frames` frames."""
    out = []
    for _ in range(frames):
        frame, t = grid.next_frame(fps)
        due = grid.due(t)
        if due > 0:
            out.append((frame, grid.fill(frame, due).repeats))
    return out


def test_a_faster_source_is_sampled_at_the_grid_rate():
    events: list[str] = []
    taken = _sampled(SampleGrid(16.0, live=False, events=events), 60, fps=30.0)  # 2 s of a 30 fps file
    assert len(taken) == 32 and all(repeats == 1 for _, repeats in taken)
    # Sample k is the first frame at or after k / 16 s.
    assert [frame for frame, _ in taken] == [int(np.ceil(k * 30 / 16 - 1e-9)) for k in range(32)]
    assert events == []


def test_a_slower_source_repeats_frames_and_says_so_once():
    events: list[str] = []
    grid = SampleGrid(16.0, live=False, events=events)
    taken = _sampled(grid, 20, fps=8.0)  # every frame fills two grid points
    assert [frame for frame, _ in taken] == list(range(20)) and all(r == 2 for _, r in taken[1:])
    assert sum(r for _, r in taken) == grid.next_sample
    assert len(events) == 1 and "frames repeat" in events[0]


def test_a_live_buffer_drops_the_oldest_samples_and_counts_them():
    buffer = SampleBuffer(2, live=True)
    for i in range(5):
        buffer.put(i, current=lambda: True)
    assert buffer.dropped == 3 and buffer.pending() == 2
    assert [buffer.get(0), buffer.get(0), buffer.get(0.01)] == [3, 4, None]


def test_a_file_buffer_waits_for_the_caller_and_an_abandoned_reader_gives_up():
    buffer = SampleBuffer(1, live=False)
    buffer.put("first", current=lambda: True)
    polls = []
    buffer.put("second", current=lambda: polls.append(1) or len(polls) < 3)  # abandoned after two polls
    assert buffer.dropped == 0 and buffer.pending() == 1 and buffer.get(0) == "first"
    buffer.put(END, current=lambda: True)
    assert buffer.get(0) is END


def test_a_file_is_sampled_frame_by_frame_to_its_end(run_clip):
    src = LiveSource(run_clip, rate=12.5)  # Weizmann: 42 frames at 25 fps, so every other frame
    samples = list(src)
    assert all(isinstance(s, Sample) for s in samples)
    assert [s.frame for s in samples] == list(range(0, 42, 2))
    assert [s.time_s for s in samples] == [f / 25.0 for f in range(0, 42, 2)]
    assert samples[0].data.shape == (144, 180, 3) and samples[0].data.dtype == np.uint8
    assert src.fps == 25.0 and src.dropped == 0
    assert src.events[0].startswith("opened file") and src.events[-1] == "ended"
