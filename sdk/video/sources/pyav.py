"""PyAV as the file decoder: FFmpeg's own libraries, bundled in PyAV's wheels with H.264,
HEVC, VP9, AV1, MPEG-4 and MJPEG decoders (OpenCV's bundled FFmpeg has no AV1).

A file is opened once per sample, and opening costs no decoding: its packets are read
(demuxed) once, on that same handle, for the true frame count, each frame's timestamp
and where the keyframes are; container headers can be wrong (a Kinetics MKV claims a
frame it does not have), packets are not. `read_frames` then decodes only what a
sampling plan needs (`seek_plan.py`: seek to the keyframe before a sampled frame when
that is cheaper than decoding through the gap), with FFmpeg's frame threads, and
converts and resizes only the sampled frames. Frames are matched by timestamp, so a
frame that does not decode is noticed (the caller then falls back to a full decode),
never replaced by a neighbour. Cameras stay with OpenCV (`opencv.py`), which also reads
files where PyAV is not installed.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError, DamagedVideoError, NotAVideoError, StillImageError
from ..seek_plan import plan_decode_runs
from ..transforms import resize_short_side
from . import DecodedFrame, Kind, register_frame_source

try:
    import av
    from av.video.reformatter import VideoReformatter
except ImportError:  # OpenCV still reads files; this source is simply not registered
    av = None


THREADED_MIN_PIXELS = 256 * 256
CONVERT_THREADS, MAX_IN_FLIGHT = 2, 4

# Frames decoded past a run's last sampled frame, to see that timestamps kept rising.
REORDER_CHECK_FRAMES = 2


@dataclass(frozen=True)
class PacketIndex:
    """A video stream's frames as its packets describe them, in presentation order."""

    pts: list[int]  # timestamp of frame i, in the stream's time base
    keyframes: list[int]  # frame indices a decode can start at
    frame_at: dict[int, int]  # timestamp -> frame index


def to_rgb(frame: av.VideoFrame, short_side: int | None, scaler: VideoReformatter) -> np.ndarray:
    """A decoded frame as (H, W, 3) uint8 RGB, upright (the stream's display rotation, as
    OpenCV applies it), its short side at `short_side`. FFmpeg's swscale converts the
    colours (pixel for pixel what OpenCV's FFmpeg backend gives); OpenCV's INTER_AREA
    resizes, as the bundled model was trained. Resizing in swscale too is 5x faster on
    1080p but gives other pixels, and it changed 1 of 70 Weizmann labels of the bundled
    model (benchmarks/results/decode.md). One `scaler` per video keeps swscale's context:
    a new one per frame costs 0.4 ms."""
    rgb = scaler.reformat(frame, format="rgb24").to_ndarray()
    turns = int(frame.rotation) // 90 % 4  # counter-clockwise quarter turns
    if turns:
        rgb = np.ascontiguousarray(np.rot90(rgb, turns))
    return resize_short_side(rgb, short_side)


# The first bytes of the containers FFmpeg reads by signature: a file that starts like one
# of these but does not open is a damaged or truncated video, not "not a video".
_CONTAINER_SIGNATURES = ((4, b"ftyp", "MP4/MOV"), (0, b"RIFF", "AVI"), (0, b"\x1aE\xdf\xa3", "Matroska/WebM"),
                         (0, b"\x00\x00\x01\xba", "MPEG-PS"), (0, b"FLV", "FLV"), (0, b"0&\xb2u", "ASF/WMV"))


def _container_kind(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    return next((kind for at, magic, kind in _CONTAINER_SIGNATURES if head[at:at + len(magic)] == magic), None)


def _open(path: str, stream: int | None = None) -> tuple[av.container.InputContainer, av.VideoStream]:
    """The container and its video stream: `stream` (a container stream index), or the one
    FFmpeg itself would pick (av_find_best_stream, as ffmpeg and torchcodec do)."""
    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as e:
        kind = _container_kind(path)
        if kind:
            raise DamagedVideoError(f"{path}: a truncated or damaged {kind} file: FFmpeg cannot open it ({e})"
                                    ) from None
        raise NotAVideoError(f"{path}: not a video, or a container no decoder here can open ({e})") from None
    videos = [s.index for s in container.streams.video]
    if not videos:
        container.close()
        raise NotAVideoError(f"{path}: the file has no video stream")
    if stream is None:
        return container, container.streams.best("video") or container.streams.video[0]
    if stream not in videos:
        container.close()
        raise ConfigError(f"{path}: stream {stream} is not a video stream; its video streams are "
                          f"{', '.join(map(str, videos))}")
    return container, container.streams[stream]


class PyAVSource:
    """A video file read through PyAV; see the module docstring.

    One container handle serves everything: the packet index, the sampled runs and the
    sequential reading. Each of them positions the handle itself (a seek, or `rewind`),
    so none relies on where another left it."""

    def __init__(self, target: str, *, kind: Kind = "file", timeout_s: float | None = None,
                 video_stream: int | None = None) -> None:
        self.path = str(target)
        self._container, self._stream = _open(self.path, video_stream)
        self.video_stream = self._stream.index  # the video stream read, by its index in the container
        self.video_streams = tuple(s.index for s in self._container.streams.video)
        ctx = self._stream.codec_context
        # Frame threads pay off from about 256x256 (1080p H.264: 1.45x on 2 cores); below,
        # starting them costs more than they save (Weizmann's 180x144: 2.9 vs 1.9 ms a clip).
        self._thread_type = "AUTO" if ctx.width * ctx.height >= THREADED_MIN_PIXELS else "NONE"
        self._stream.thread_type = self._thread_type
        self._fresh = True  # nothing demuxed since opening: the next packet is the file's first
        self._skipping = False  # the decoder has skipped non-reference frames (see `_exact_decoder`)
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps = float(rate) if rate and rate > 0 else None
        self.header_frames = self._claimed_frames()
        self._index: PacketIndex | None = None
        self._indexed = False
        self._frames = None  # the sequential decode (grab/retrieve/seek)
        self._current: av.VideoFrame | None = None
        self._scalers = threading.local()  # swscale contexts are not shared between threads
        self.frames_decoded = 0  # by read_frames, all calls: what a sampling plan cost
        if "gif" in self._container.format.name.split(",") and self.frame_count == 1:
            self.close()  # animated GIFs are clips (DeepMind's I3D sample is one); a still one is not
            raise StillImageError(f"{self.path}: a still GIF image (one frame), not a video")

    # -- what the file holds, without decoding ---------------------------------------------

    def _claimed_frames(self) -> int:
        """The container's own count (what OpenCV reports): the header's, or duration x rate."""
        if self._stream.frames > 0:
            return int(self._stream.frames)
        if self._container.duration and self.fps:
            return int(round(self._container.duration / av.time_base * self.fps))
        return 0

    @property
    def index(self) -> PacketIndex | None:
        """The packet index, read on first use; None where packets cannot be trusted to be
        one frame each (missing or repeated timestamps)."""
        if not self._indexed:
            self._indexed = True
            self._index = self._read_index()
        return self._index

    def _read_index(self) -> PacketIndex | None:
        """Demux every packet of the stream on this handle (no decoding); whatever reads
        next seeks or rewinds first."""
        self._moved()
        try:
            pts, keys = [], []
            for packet in self._container.demux(self._stream):
                if packet.size == 0 or packet.is_corrupt:
                    continue  # the end-of-stream flush marker; a packet cut short (a file still being written)
                if packet.pts is None:
                    return None
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keys.append(packet.pts)
        except av.FFmpegError:
            return None
        order = sorted(pts)
        if len(set(order)) != len(order):
            return None
        position = {p: i for i, p in enumerate(order)}
        return PacketIndex(order, sorted(position[k] for k in keys), position)

    @property
    def frame_count(self) -> int:
        """Frames the packets hold (0 when they cannot tell; then only a decode counts)."""
        return len(self.index.pts) if self.index else 0

    # -- the sampled frames -------------------------------------------------------------------

    def read_frames(self, indices: list[int], short_side: int | None, tolerance: int = 0
                    ) -> dict[int, DecodedFrame] | None:
        """The frames `indices` names (resized RGB), decoding only what the cost plan
        needs; None when the index is unusable, a seek misses or a frame does not decode.
        `tolerance` > 0: FFmpeg skips non-reference frames (skip_frame=NONREF: the B-frames
        no other frame is predicted from, often a third or more of an H.264 stream) and
        the nearest decoded frame within `tolerance` frames stands in for each requested one."""
        index = self.index
        if not index or not indices or not 0 <= min(indices) <= max(indices) < len(index.pts):
            return None
        out: dict[int, tuple[int, Future]] = {}
        in_flight: deque[Future] = deque()
        # Converting and resizing run in threads while decoding goes on (FFmpeg and OpenCV
        # release the GIL): Weizmann clips 13 ms instead of 17. A few frames in flight at
        # most, so memory holds resized frames, not decoded ones.
        with ThreadPoolExecutor(CONVERT_THREADS) as converter:

            def convert(i: int, j: int, frame: av.VideoFrame) -> None:
                done = converter.submit(lambda: to_rgb(frame, short_side, self._scaler()))
                out[i] = (j, done)
                in_flight.append(done)
                if len(in_flight) > MAX_IN_FLIGHT:
                    in_flight.popleft().result()

            if tolerance > 0 and not self._timestamps_survive_skipping():
                tolerance = 0
            if tolerance > 0:
                self._skip_nonreference()
            else:
                self._exact_decoder()
            try:
                for run in plan_decode_runs(indices, index.keyframes):
                    if not self._decode_run(run.start, run.take, tolerance, convert):
                        return None
            except av.FFmpegError:
                return None
            return {i: DecodedFrame(j, done.result()) for i, (j, done) in out.items()}

    def _timestamps_survive_skipping(self) -> bool:
        """AVI stores no presentation timestamps: FFmpeg numbers its frames in decoding
        order, which only holds while every frame is decoded. With B-frames skipped the
        frames left get other frames' numbers (an XviD clip with packed B-frames: every
        stand-in one frame off), so AVIs are decoded exactly."""
        return "avi" not in self._container.format.name.split(",")

    def _skip_nonreference(self) -> None:
        """Let the decoder skip frames nothing is predicted from. Set before its first
        frame, it applies from the decoder's opening (some decoders, libdav1d, read it
        only then); set later, a decoder that ignores it just decodes every frame."""
        self._stream.codec_context.skip_frame = "NONREF"
        self._skipping = True

    def _exact_decoder(self) -> None:
        """A decoder that decodes every frame. One that has skipped cannot be trusted to
        stop (libdav1d keeps skip_frame from its opening), so the file is opened afresh:
        only a sample whose stand-ins were too far from the plan pays a second opening."""
        if self._skipping:
            self._reopen()

    def _reopen(self) -> None:
        self._container.close()
        self._container, self._stream = _open(self.path, self.video_stream)
        self._stream.thread_type = self._thread_type
        self._frames, self._current = None, None
        self._fresh, self._skipping = True, False

    def _moved(self) -> None:
        """The handle is about to be repositioned: the sequential reader's place is gone."""
        self._fresh = False
        self._frames = None

    def _decode_run(self, start: int, take: list[int], tolerance: int,
                    convert: Callable[[int, int, av.VideoFrame], None]) -> bool:
        """Seek to keyframe `start` and decode forward, handing `convert` each frame of
        `take` (ascending), or the nearest decoded one within `tolerance`, as
        (requested index, decoded index, frame)."""
        frame_at = self.index.frame_at
        pending = deque(take)
        before: tuple[int, av.VideoFrame] | None = None  # the last frame decoded
        previous, past_last = None, 0
        # Intra-only streams (MJPEG, as many IP cameras send; ProRes, DNxHD): every frame
        # decodes on its own, so only the packets of requested frames are decoded, the
        # others just read past (an SFC pass over a 306-frame MJPEG video decodes 64).
        intra_only = len(self.index.keyframes) == len(self.index.pts)
        needed = {self.index.pts[i] for i in take} if intra_only else None
        self._moved()
        self._container.seek(self.index.pts[start], stream=self._stream, backward=True, any_frame=False)
        for frame in _decoded(self._container, self._stream, needed):
            self.frames_decoded += 1
            # Timestamps must rise in output order. They do not in AVIs with packed
            # B-frames (DivX), where FFmpeg labels frames out of order: only counting
            # decoded frames is right there.
            if frame.pts is None or (previous is not None and frame.pts <= previous):
                return False
            previous = frame.pts
            j = frame_at.get(frame.pts)
            if j is None:  # a timestamp no packet has: not a frame of the index
                continue
            while pending and pending[0] <= j:  # frame j is at or past the next request
                i = pending.popleft()
                k, chosen = (j, frame) if before is None or j - i < i - before[0] else before
                if abs(k - i) > tolerance:
                    return False
                convert(i, k, chosen)
            before = (j, frame)
            if intra_only and j >= take[-1]:  # nothing is reordered: no later frame can be earlier
                break
            if j >= take[-1]:
                past_last += 1
                if past_last > REORDER_CHECK_FRAMES:
                    break
        while pending and before is not None and abs(pending[0] - before[0]) <= tolerance:  # the stream ended
            convert(pending.popleft(), *before)
        return not pending

    def _scaler(self) -> VideoReformatter:
        scaler = getattr(self._scalers, "scaler", None)
        if scaler is None:
            scaler = self._scalers.scaler = VideoReformatter()
        return scaler

    # -- FrameSource: sequential reading ------------------------------------------------------

    def grab(self) -> bool:
        if self._frames is None:
            self.rewind()  # from the first frame, wherever the index or a sampled run left the handle
        if self._frames is None:
            self._fresh = False
            self._frames = _decoded(self._container, self._stream)
        self._current = next(self._frames, None)
        return self._current is not None

    def retrieve(self, short_side: int | None = None) -> np.ndarray | None:
        return None if self._current is None else to_rgb(self._current, short_side, self._scaler())

    def seek(self, index: int) -> bool:
        """Position so that the next `grab` decodes frame `index` (by timestamp)."""
        if not self.index or not 0 <= index < len(self.index.pts):
            return False
        self._exact_decoder()
        target = self.index.pts[index]
        self._moved()
        self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        self._frames = _decoded(self._container, self._stream)
        for frame in self._frames:
            if frame.pts is not None and frame.pts >= target:
                if frame.pts != target:
                    return False
                self._frames = _chain(frame, self._frames)
                return True
        return False

    def rewind(self) -> None:
        """Make the next `grab` decode the first frame, as on a freshly opened file: a
        seek to frame 0 that must land on its timestamp, else (no usable packet index, a
        decoder that skipped) the file is opened again."""
        self._current = None
        if self._fresh and not self._skipping:
            self._frames = None
        elif self._skipping or not self._seek_quietly(0):
            self._reopen()

    def _seek_quietly(self, index: int) -> bool:
        """`seek`, with a demuxer error (a damaged file, after a failed read) as False: the
        caller opens the file again instead."""
        try:
            return self.seek(index)
        except av.FFmpegError:
            return False

    def close(self) -> None:
        self._frames = None
        self._current = None
        self._container.close()


def _decoded(container: av.container.InputContainer, stream: av.VideoStream, only: set[int] | None = None):
    """Every frame in order (`only`: just the packets with these timestamps). A packet that
    fails to decode is skipped, as FFmpeg's tools do, and so is one the demuxer marks cut
    short (the last, in a file still being written: it would decode as half a picture)."""
    for packet in container.demux(stream):
        if packet.is_corrupt or (only is not None and packet.size and packet.pts not in only):
            continue
        try:
            yield from packet.decode()
        except av.FFmpegError:
            continue


def _chain(first, rest):
    yield first
    yield from rest


if av is not None:
    register_frame_source("pyav", kinds=("file",), priority=10, selects_stream=True)(PyAVSource)
