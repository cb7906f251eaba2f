"""Files people actually bring: animated GIFs, truncated MP4s, files with several video
streams, and URLs given to `predict`. Each is written here from a real clip's frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from sfc_sdk import Recognizer  # noqa: E402
from sfc_sdk.errors import ConfigError, DamagedVideoError, NotAVideoError  # noqa: E402
from sfc_sdk.video.decode import sample_frames  # noqa: E402
from sfc_sdk.video.files import expand_inputs  # noqa: E402
from sfc_sdk.video.sampling import uniform_indices  # noqa: E402

PLAN = lambda n: uniform_indices(n, 8)  # noqa: E731


@pytest.fixture(scope="module")
def real_frames(clips_dir) -> list[np.ndarray]:
    with av.open(str(clips_dir / "arm_wrestling_kinetics.mp4")) as c:
        return [f.to_ndarray(format="rgb24", width=128, height=96) for _, f in zip(range(40), c.decode(video=0),
                                                                                   strict=False)]


def _write(path: Path, streams: list[tuple[str, list[np.ndarray], bool]], pix_fmt: str = "yuv420p") -> Path:
    """Each stream: (encoder, frames, is the default stream)."""
    with av.open(str(path), "w") as out:
        added = []
        for encoder, frames, default in streams:
            s = out.add_stream(encoder, rate=10)
            s.height, s.width = frames[0].shape[:2]
            s.pix_fmt = pix_fmt
            s.disposition = av.stream.Disposition.default if default else 0
            added.append((s, frames))
        for i in range(max(len(f) for _, f in added)):
            for s, frames in added:
                if i < len(frames):
                    out.mux(s.encode(av.VideoFrame.from_ndarray(frames[i], format="rgb24")))
        for s, _ in added:
            out.mux(s.encode())
    return path


def _decode_stream(path: Path, index: int) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams[index])]


def test_an_animated_gif_is_a_clip_and_a_still_one_is_refused(tmp_path, real_frames):
    gif = _write(tmp_path / "clip.gif", [("gif", real_frames[:24], True)], pix_fmt="rgb8")
    got = sample_frames(gif, PLAN, None)
    assert got.num_frames == 24 and got.fps == pytest.approx(10)
    reference = _decode_stream(gif, 0)
    for i, frame in zip(got.indices, got.frames, strict=True):
        np.testing.assert_array_equal(frame, reference[i])
    # a folder of clips includes its GIFs, and predict answers on one
    assert str(gif) in expand_inputs([tmp_path])
    assert Recognizer().predict(gif).num_frames == 24

    still = _write(tmp_path / "still.gif", [("gif", real_frames[:1], True)], pix_fmt="rgb8")
    with pytest.raises(NotAVideoError, match="still GIF image"):
        sample_frames(still, PLAN, None)


def test_a_truncated_mp4_is_called_damaged_not_not_a_video(tmp_path, real_frames):
    whole = _write(tmp_path / "whole.mp4", [("libx264", real_frames, True)])  # index (moov) written last
    data = whole.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # a copy or download cut short
    with pytest.raises(DamagedVideoError, match="truncated or damaged MP4"):
        sample_frames(tmp_path / "cut.mp4", PLAN, None)
    (tmp_path / "notes.mp4").write_text("not a video at all\n" * 20)
    with pytest.raises(NotAVideoError, match="not a video"):
        sample_frames(tmp_path / "notes.mp4", PLAN, None)


def test_several_video_streams_ffmpegs_choice_by_default_any_by_index(tmp_path, real_frames):
    mirrored = [np.ascontiguousarray(f[:, ::-1]) for f in real_frames]
    two = _write(tmp_path / "two.mkv", [("libx264", real_frames, False), ("libx264", mirrored, True)])
    with av.open(str(two)) as c:
        assert c.streams.best("video").index == 1  # FFmpeg picks the default stream, not the first

    for stream, expected in ((None, 1), (0, 0), (1, 1)):
        got = sample_frames(two, PLAN, None, video_stream=stream)
        assert got.video_stream == expected and got.video_streams == (0, 1)
        reference = _decode_stream(two, expected)
        for i, frame in zip(got.indices, got.frames, strict=True):
            np.testing.assert_array_equal(frame, reference[i])

    pred = Recognizer().predict(two)
    assert any("2 video streams: read stream 1" in note for note in pred.notes), pred.notes
    with pytest.raises(ConfigError, match="video streams are 0, 1"):
        sample_frames(two, PLAN, None, video_stream=5)


def test_a_url_given_as_a_video_is_sent_to_watch_unfolded():
    url = "http://10.0.0.1/cam/clip.mp4"
    assert expand_inputs([url]) == [url]  # not folded into "http:/10.0.0.1/..."
    with pytest.raises(NotAVideoError, match=r"http://10\.0\.0\.1/cam/clip\.mp4.*sfc-sdk watch"):
        sample_frames(url, PLAN, None)
