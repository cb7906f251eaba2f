"""Every common codec, written here with PyAV's own encoders from a real clip's frames:
the frames the SDK samples (seeking to keyframes, decoding only what the plan needs)
equal the same frames of a plain sequential decode, pixel for pixel, and the frame count
is known without decoding."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from sfc_sdk.video.decode import nearest_tolerance, sample_frames  # noqa: E402
from sfc_sdk.video.sampling import clip_indices, uniform_indices  # noqa: E402
from sfc_sdk.video.seek_plan import frames_decoded, plan_decode_runs  # noqa: E402
from sfc_sdk.video.sources.pyav import PyAVSource  # noqa: E402

FRAMES, GOP = 240, 24
# codec: (encoder, container, encoder options, pixel format)
CODECS = {
    "h264": ("libx264", "mp4", {"preset": "ultrafast", "x264-params": f"keyint={GOP}:scenecut=0:bframes=3"}, "yuv420p"),
    "hevc": ("libx265", "mkv", {"preset": "ultrafast",
                                "x265-params": f"keyint={GOP}:scenecut=0:bframes=3:open-gop=1:log-level=error"},
             "yuv420p"),
    "vp9": ("libvpx-vp9", "webm", {"g": str(GOP), "deadline": "realtime", "cpu-used": "8"}, "yuv420p"),
    "av1": ("libsvtav1", "mkv", {"g": str(GOP), "preset": "12"}, "yuv420p"),
    "mpeg4": ("mpeg4", "avi", {"g": str(GOP), "bf": "2"}, "yuv420p"),
    "mjpeg": ("mjpeg", "avi", {}, "yuvj420p"),
    "h264-vfr": ("libx264", "mkv", {"preset": "ultrafast", "x264-params": f"keyint={GOP}:bframes=2"}, "yuv420p"),
}


def _encode(path: Path, source: list[np.ndarray], codec: str) -> Path:
    encoder, _, options, pix_fmt = CODECS[codec]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(encoder, rate=25, options=options)
        stream.height, stream.width = source[0].shape[:2]
        stream.pix_fmt = pix_fmt
        if codec.endswith("vfr"):
            stream.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for i in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(source[(i * 7) % len(source)], format="rgb24")  # neighbours differ
            if codec.endswith("vfr"):  # frame gaps of 20 to 80 ms
                frame.pts, frame.time_base = pts, Fraction(1, 1000)
                pts += 20 + (i * 37) % 61
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, clips_dir) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("codecs")
    with av.open(str(clips_dir / "arm_wrestling_kinetics.mp4")) as c:
        frames = zip(range(100), c.decode(video=0), strict=False)
        source = [f.to_ndarray(format="rgb24", width=128, height=96) for _, f in frames]
    return {name: _encode(folder / f"{name}.{CODECS[name][1]}", source, name) for name in CODECS}


def _sequential(path: Path) -> list[np.ndarray]:
    """The plainest decode: every frame, in order, at its own size."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _decoded_when_skipping(path: Path, frame_at: dict[int, int]) -> set[int]:
    """The frames a decoder that skips non-reference frames outputs, start to end."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.codec_context.skip_frame = "NONREF"
        return {frame_at[f.pts] for f in c.decode(stream)}


SFC_PLAN = lambda n: uniform_indices(n, 12)  # noqa: E731  (about 20 frames apart: seeks pay off)
DENSE_PLAN = lambda n: [i for c in clip_indices(n, 3, 8, 2) for i in c]  # noqa: E731


@pytest.mark.parametrize("codec", list(CODECS))
def test_sampled_frames_equal_a_sequential_decode(encoded, codec):
    path = encoded[codec]
    reference = _sequential(path)
    assert len(reference) == FRAMES
    source = PyAVSource(str(path))
    try:
        assert source.frame_count == FRAMES  # from packets, before any decoding
        if codec != "mjpeg":
            assert len(plan_decode_runs(SFC_PLAN(FRAMES), source.index.keyframes)) > 1, "the plan should seek"
        for plan in (SFC_PLAN, DENSE_PLAN):
            wanted = sorted(set(plan(FRAMES)))
            decoded_before = source.frames_decoded
            got = source.read_frames(wanted, None)  # the fast path itself, not the full-decode fallback
            assert got is not None and sorted(got) == wanted, f"{codec}: frames the plan needs were not decoded"
            if codec == "mjpeg":  # intra-only: the requested frames' packets and no others are decoded
                assert source.frames_decoded - decoded_before == len(wanted)
            for i in wanted:
                assert got[i].index == i
                np.testing.assert_array_equal(got[i].rgb, reference[i], err_msg=f"{codec}: frame {i}")
        # Skipping non-reference frames: every stand-in is the real frame it says it is, near its request.
        wanted = SFC_PLAN(FRAMES)
        tolerance = nearest_tolerance(wanted)
        near = source.read_frames(wanted, None, tolerance)
        assert near is not None and sorted(near) == wanted and tolerance == 9
        kept = _decoded_when_skipping(path, source.index.frame_at)
        for i in wanted:
            assert abs(near[i].index - i) <= tolerance
            np.testing.assert_array_equal(near[i].rgb, reference[near[i].index], err_msg=f"{codec}: near {i}")
            if CODECS[codec][1] == "avi":  # no presentation timestamps: never skipped (see the AVI test)
                assert near[i].index == i
            elif codec != "hevc":  # (open GOP: after a seek the leading pictures of a CRA do not decode)
                nearest = min(kept, key=lambda j: (abs(j - i), j))  # ties go to the earlier frame
                assert near[i].index == nearest, f"{codec}: {i} got {near[i].index}, nearest kept {nearest}"
        if codec == "h264":  # B-frames nothing refers to were skipped, so some samples moved
            assert any(near[i].index != i for i in wanted), f"{codec}: no non-reference frame was skipped"
        again = source.read_frames(wanted, None)  # skipping did not stay on (libdav1d reads it once, at open)
        assert again is not None and all(again[i].index == i for i in wanted), codec
    finally:
        source.close()
    clip = sample_frames(path, SFC_PLAN, 64)  # and through the public entry point, resized
    assert clip.num_frames == FRAMES and clip.indices == SFC_PLAN(FRAMES) and min(clip.frames.shape[1:3]) == 64
    near_clip = sample_frames(path, SFC_PLAN, 64, nearest=True)
    assert [near[i].index for i in SFC_PLAN(FRAMES)] == near_clip.indices


def test_seek_plan_decodes_less_than_everything_only_where_keyframes_allow():
    wanted = uniform_indices(1800, 64)  # a minute at 30 fps, SFC's 64 frames
    every_second = list(range(0, 1800, 30))
    runs = plan_decode_runs(wanted, every_second)
    assert sum(r.decoded for r in runs) < 1800 * 0.75 and all(r.start in every_second for r in runs)
    assert [i for r in runs for i in r.take] == sorted(set(wanted))
    assert len(plan_decode_runs(wanted, [0])) == 1  # one keyframe: one pass from the start
    assert len(plan_decode_runs(list(range(10)), list(range(0, 1800, 30)))) == 1  # neighbours: decode through


def test_a_free_seek_plan_decodes_exactly_the_floor_benchmarks_report():
    """benchmarks/decode_floor.py counts the least any decoder must decode as the plan with
    free seeks: per group of pictures holding a sample, its keyframe to its last sample."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(2, 400))
        keyframes = sorted({0, *rng.integers(0, n, int(rng.integers(0, 12))).tolist()})
        wanted = rng.integers(0, n, int(rng.integers(1, 70))).tolist()
        last_in_gop: dict[int, int] = {}
        for i in wanted:
            key = max(k for k in keyframes if k <= i)
            last_in_gop[key] = max(last_in_gop.get(key, i), i)
        floor = sum(last - key + 1 for key, last in last_in_gop.items())
        assert frames_decoded(plan_decode_runs(wanted, keyframes, seek_cost=0)) == floor
        assert frames_decoded(plan_decode_runs(wanted, keyframes)) >= floor  # the default plan: never less


def test_a_phone_video_with_a_display_rotation_is_turned_upright_as_opencv_does(tmp_path):
    import cv2

    picture = np.zeros((96, 128, 3), np.uint8)
    picture[:16, :32] = (255, 255, 255)  # a mark in the top-left corner
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.set_display_rotation(90)  # what a phone held upright writes
        for _ in range(10):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        out.mux(stream.encode())
    got = sample_frames(path, lambda n: [0, n - 1], None)
    cap = cv2.VideoCapture(str(path))
    upright = cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2RGB)  # OpenCV applies the rotation itself
    cap.release()
    assert got.frames.shape[1:3] == (128, 96) == upright.shape[:2]
    np.testing.assert_array_equal(got.frames[0], upright)
    assert got.frames[0][-16:, :16].mean() > 200  # the corner mark turned with the picture


def test_an_avi_with_packed_b_frames_is_decoded_exactly_even_when_stand_ins_are_allowed(clips_dir):
    """AVI has no presentation timestamps: with B-frames skipped, FFmpeg would number the
    frames left wrongly (this XviD clip: every one a frame off), so AVIs never skip."""
    path = clips_dir / "unlabeled_320x240.avi"
    reference = _sequential(path)
    plan = lambda n: uniform_indices(n, 16)  # noqa: E731  (10 frames apart: stand-ins would be allowed)
    clip = sample_frames(path, plan, None, nearest=True)
    assert clip.indices == plan(len(reference))
    for frame, i in zip(clip.frames, clip.indices, strict=True):
        np.testing.assert_array_equal(frame, reference[i], err_msg=f"frame {i}")
