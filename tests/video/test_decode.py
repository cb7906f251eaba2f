"""Video input on real files: decoding, sampling plans, preprocessing and bad input."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import cv2
import numpy as np
import pytest

from sfc_sdk.errors import (
    EmptyVideoError,
    InvalidFramesError,
    NotAVideoError,
    UnreadableStreamError,
    VideoNotFoundError,
)
from sfc_sdk.video.decode import sample_frames
from sfc_sdk.video.sampling import Views, clip_indices, uniform_indices
from sfc_sdk.video.transforms import center_crop, normalize, resize_short_side, three_crops


def test_every_shared_clip_decodes_with_the_true_frame_count(decode_all, clips_dir):
    files = sorted(clips_dir.iterdir())
    assert len(files) >= 4
    for path in files:
        reference = decode_all(path)
        got = sample_frames(path, lambda n: uniform_indices(n, 16), 112)
        assert got.num_frames == len(reference), path.name
        assert got.frames.shape[0] == 16 and min(got.frames.shape[1:3]) == 112 and got.frames.dtype == np.uint8
        assert max(got.indices) < len(reference) and got.fps and got.fps > 0
        # The frames are the ones the plan named, not neighbours.
        for i, idx in enumerate(got.indices[::5]):
            np.testing.assert_array_equal(got.frames[i * 5], resize_short_side(reference[idx], 112))


def test_a_header_that_over_counts_is_not_trusted(clips_dir):
    path = clips_dir / "flipping_pancake_kinetics.mkv"
    header = int(cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FRAME_COUNT))
    got = sample_frames(path, lambda n: uniform_indices(n, 64), 112)
    assert got.header_frames == header and got.num_frames < header
    assert got.indices == uniform_indices(got.num_frames, 64)


def test_every_weizmann_clip_decodes(weizmann_dir, decode_all):
    files = sorted(weizmann_dir.glob("*/*.avi"))
    assert len(files) == 70
    for k, path in enumerate(files):
        got = sample_frames(path, lambda n: uniform_indices(n, 8), 96)
        assert 36 <= got.num_frames <= 146 and got.fps == pytest.approx(25.0)
        assert got.frames.shape == (8, 96, 120, 3), path.name
        if k % 7 == 0:  # the same pixels as OpenCV's decode, which the bundled model was trained on
            reference = decode_all(path)
            assert got.num_frames == len(reference)
            for frame, i in zip(got.frames, got.indices, strict=True):
                np.testing.assert_array_equal(frame, resize_short_side(reference[i], 96), err_msg=path.name)


def test_arrays_and_frame_lists_sample_like_the_file(decode_all, run_clip):
    frames = decode_all(run_clip)
    from_file = sample_frames(run_clip, lambda n: uniform_indices(n, 10), 96)
    from_array = sample_frames(np.stack(frames), lambda n: uniform_indices(n, 10), 96, fps=25.0)
    from_list = sample_frames(frames, lambda n: uniform_indices(n, 10), 96)
    np.testing.assert_array_equal(from_file.frames, from_array.frames)
    np.testing.assert_array_equal(from_file.frames, from_list.frames)
    assert from_array.num_frames == len(frames) and from_array.seconds(25) == 1.0 and from_list.fps is None


def test_sampling_plans():
    assert uniform_indices(100, 4) == [12, 37, 62, 87]
    assert uniform_indices(3, 6) == [0, 0, 1, 1, 2, 2]  # fewer frames than samples: repeat
    clips = clip_indices(100, 3, clip_len=4, stride=2)
    assert clips == [[0, 2, 4, 6], [46, 48, 50, 52], [93, 95, 97, 99]]  # first to last position
    assert clip_indices(5, 1, clip_len=4, stride=2) == [[0, 2, 4, 4]]  # too short: last frame repeats
    assert Views.parse("10x3") == Views(10, 3) and Views.parse("1x1").count == 1


def test_crops_and_normalisation():
    frames = np.arange(2 * 8 * 12 * 3, dtype=np.uint8).reshape(2, 8, 12, 3)
    assert center_crop(frames, 8).shape == (2, 8, 8, 3)
    left, mid, right = three_crops(frames, 8)
    np.testing.assert_array_equal(left, frames[:, :, :8])
    np.testing.assert_array_equal(right, frames[:, :, 4:])
    np.testing.assert_array_equal(mid, frames[:, :, 2:10])
    x = normalize(np.full((1, 2, 2, 3), 255, np.uint8), (0.5, 0.5, 0.5), (0.25, 0.5, 1.0))
    assert x.shape == (3, 1, 2, 2) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0, 0, 0], [2.0, 1.0, 0.5])
    # Every uint8 level of every channel, through a cropped (non-contiguous) view: bit for
    # bit the per-pixel formula the models were trained with.
    levels = np.broadcast_to(np.arange(256, dtype=np.uint8)[None, :, None, None], (2, 256, 6, 3)).copy()
    levels[1] = levels[1, ::-1]
    mean, std = (0.45, 0.42, 0.39), (0.229, 0.224, 1 / 255)
    expected = (levels.astype(np.float32) * np.float32(1 / 255)
                - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    got = normalize(levels[:, :, 1:5], mean, std)
    np.testing.assert_array_equal(got, expected[:, :, 1:5].transpose(3, 0, 1, 2))
    # Channels-last for PyTorch: the same values, laid out (T, H, W, 3) in memory.
    last = normalize(levels[:, :, 1:5], mean, std, channels_last=True)
    np.testing.assert_array_equal(last, got)
    assert last.transpose(1, 2, 3, 0).flags.c_contiguous
    with pytest.raises(ValueError, match="C-contiguous"):
        normalize(levels, mean, std, out=np.empty((6, 256, 2, 3), np.float32).transpose(3, 1, 2, 0))


def _plan(n: int) -> list[int]:
    return uniform_indices(n, 8)


def test_bad_files_raise_typed_errors(tmp_path, run_clip):
    with pytest.raises(VideoNotFoundError, match="not found"):
        sample_frames(tmp_path / "missing.mp4", _plan, 64)
    with pytest.raises(VideoNotFoundError, match="not a file"):
        sample_frames(tmp_path, _plan, 64)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(NotAVideoError, match="empty"):
        sample_frames(tmp_path / "empty.mp4", _plan, 64)
    (tmp_path / "notes.mp4").write_text("this is not a video\n" * 20)
    with pytest.raises(NotAVideoError, match="not a video"):
        sample_frames(tmp_path / "notes.mp4", _plan, 64)
    cv2.imwrite(str(tmp_path / "still.png"), np.zeros((48, 64, 3), np.uint8))
    (tmp_path / "still.png").rename(tmp_path / "still.mp4")
    with pytest.raises(NotAVideoError, match="PNG image"):
        sample_frames(tmp_path / "still.mp4", _plan, 64)

    writer = cv2.VideoWriter(str(tmp_path / "zero.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    writer.release()
    with pytest.raises(EmptyVideoError, match="zero frames"):
        sample_frames(tmp_path / "zero.avi", _plan, 64)

    # A real AVI whose header survives but whose frame data is wiped.
    data = run_clip.read_bytes()
    movi = data.index(b"movi") + 4
    (tmp_path / "wiped.avi").write_bytes(data[:movi] + b"\0" * (len(data) - movi))
    with pytest.raises(UnreadableStreamError, match="promises 42 frames"):
        sample_frames(tmp_path / "wiped.avi", _plan, 64)


def test_a_file_named_like_a_camera_index_is_read_as_a_file(tmp_path, run_clip):
    (tmp_path / "2024").write_bytes(run_clip.read_bytes())  # no suffix, all digits: still a path
    assert sample_frames(tmp_path / "2024", _plan, 64).num_frames == 42


def test_a_truncated_file_uses_the_frames_that_decode(tmp_path, run_clip):
    data = run_clip.read_bytes()
    (tmp_path / "half.avi").write_bytes(data[: len(data) // 2])
    got = sample_frames(tmp_path / "half.avi", _plan, 64)
    assert 0 < got.num_frames < 42 and got.header_frames == 42 and max(got.indices) < got.num_frames


def test_bad_frame_arrays_raise_typed_errors():
    with pytest.raises(InvalidFramesError, match="uint8"):
        sample_frames(np.zeros((4, 8, 8, 3), np.float32), _plan, 8)
    with pytest.raises(InvalidFramesError, match=r"\(T, H, W, 3\)"):
        sample_frames(np.zeros((4, 8, 8), np.uint8), _plan, 8)
    with pytest.raises(EmptyVideoError):
        sample_frames(np.zeros((0, 8, 8, 3), np.uint8), _plan, 8)
    with pytest.raises(InvalidFramesError, match="sizes differ"):
        sample_frames([np.zeros((8, 8, 3), np.uint8), np.zeros((9, 8, 3), np.uint8)], _plan, 8)
    with pytest.raises(InvalidFramesError, match="not int"):
        sample_frames(42, _plan, 8)


def _loop_video(src: Path, out: Path, frames: int, fourcc: str) -> Path:
    cap = cv2.VideoCapture(str(src))
    source = []
    while (got := cap.read())[0]:
        source.append(got[1])
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*fourcc), 25, source[0].shape[1::-1])
    for i in range(frames):
        writer.write(source[(i * 7) % len(source)])  # every frame differs from its neighbours
    writer.release()
    return out


def _seek(video, path: Path, plan):
    """The seeking path alone, on a file opened as `sample_frames` opens it."""
    with closing(video._open(path)) as source:
        return video._sample_by_seeking(source, plan, 64, str(path))


@pytest.mark.parametrize("fourcc,ext", [("MJPG", "avi"), ("mp4v", "mp4")])
def test_long_videos_seek_to_the_same_frames_a_full_decode_gives(tmp_path, clips_dir, fourcc, ext, monkeypatch):
    from sfc_sdk.video import decode as video
    from sfc_sdk.video.sampling import clip_indices, uniform_indices

    monkeypatch.setenv("SFC_SDK_FRAME_SOURCE", "opencv")  # the seek path of a source without a packet index
    monkeypatch.setattr(video, "SEEK_MIN_GAP", 40)  # mp4v keyframes every 12 frames; keeps the file small
    path = _loop_video(clips_dir / "arm_wrestling_kinetics.mp4", tmp_path / f"long.{ext}", 3000, fourcc)
    for plan in (lambda n: uniform_indices(n, 64), lambda n: [i for c in clip_indices(n, 10, 16, 2) for i in c]):
        seeked = _seek(video, path, plan)
        assert seeked is not None, "a long video with wide gaps should be sampled by seeking"
        saved, video.SEEK_MIN_GAP = video.SEEK_MIN_GAP, 10**9  # force the full decode
        try:
            full = sample_frames(path, plan, 64)
        finally:
            video.SEEK_MIN_GAP = saved
        assert seeked.indices == full.indices and seeked.num_frames == full.num_frames == 3000
        np.testing.assert_array_equal(seeked.frames, full.frames)


def test_seeking_is_refused_when_the_header_miscounts(clips_dir, monkeypatch):
    from sfc_sdk.video import decode as video

    monkeypatch.setenv("SFC_SDK_FRAME_SOURCE", "opencv")
    monkeypatch.setattr(video, "SEEK_MIN_GAP", 20)
    wide = lambda n: [0, n // 2, n - 1]  # noqa: E731
    assert _seek(video, clips_dir / "flipping_pancake_kinetics.mkv", wide) is None  # 311 vs 310
    seeked = _seek(video, clips_dir / "arm_wrestling_kinetics.mp4", wide)
    assert seeked is not None and seeked.num_frames == 280
    monkeypatch.setattr(video, "SEEK_MIN_GAP", 10**9)
    full = sample_frames(clips_dir / "arm_wrestling_kinetics.mp4", wide, 64)
    np.testing.assert_array_equal(seeked.frames, full.frames)


def test_one_sample_opens_its_file_once(clips_dir, run_clip, monkeypatch):
    """The packet index, the sampled runs and the full-decode fallback all read one PyAV
    container: counted on the real `av.open`, decoding for real."""
    import av

    opened: list[str] = []
    real_open = av.open

    def counting_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(av, "open", counting_open)
    cases = [
        (clips_dir / "arm_wrestling_kinetics.mp4", False),  # H.264: seek runs planned from the index
        (clips_dir / "arm_wrestling_kinetics.mp4", True),  # ... with non-reference frames skipped
        (clips_dir / "flipping_pancake_kinetics.mkv", False),  # a header that over-counts
        (clips_dir / "unlabeled_320x240.avi", True),  # packed B-frames: the full decode, rewound
        (run_clip, False),  # Weizmann: a small AVI
    ]
    for path, nearest in cases:
        opened.clear()
        clip = sample_frames(path, lambda n: uniform_indices(n, 16), 64, nearest=nearest)
        assert opened == [str(path)], f"{path.name} (nearest={nearest}) opened {len(opened)} times"
        assert clip.frames.shape[0] == 16


def test_a_refused_seek_decodes_from_the_first_frame_on_the_same_source(clips_dir, monkeypatch):
    """OpenCV has no packet index: after its seeks are refused (the header miscounts), the
    full decode must start at frame 0, exactly as a fresh opening would."""
    from sfc_sdk.video import decode as video

    path = clips_dir / "flipping_pancake_kinetics.mkv"
    wide = lambda n: [0, n // 2, n - 1]  # noqa: E731
    reference = sample_frames(path, wide, 64)  # PyAV
    monkeypatch.setenv("SFC_SDK_FRAME_SOURCE", "opencv")
    monkeypatch.setattr(video, "SEEK_MIN_GAP", 20)
    got = sample_frames(path, wide, 64)
    assert got.indices == reference.indices and got.num_frames == reference.num_frames == 310
    np.testing.assert_array_equal(got.frames, reference.frames)


class _NoRewind:
    """A frame source as users registered them before `rewind` existed: OpenCV's, without it."""

    def __init__(self, target, *, kind, timeout_s=None):
        from sfc_sdk.video.sources.opencv import OpenCVSource

        self._cv = OpenCVSource(target, kind=kind, timeout_s=timeout_s)
        self.fps, self.frame_count = self._cv.fps, self._cv.frame_count

    def grab(self):
        return self._cv.grab()

    def retrieve(self, short_side=None):
        return self._cv.retrieve(short_side)

    def seek(self, index):
        return False  # so the sample falls back to decoding the whole file, which starts from frame 0

    def close(self):
        self._cv.close()


def test_a_registered_source_without_rewind_is_opened_again(clips_dir, monkeypatch):
    from sfc_sdk.video import decode as video
    from sfc_sdk.video.sources import _REGISTRY, register_frame_source

    path = clips_dir / "flipping_pancake_kinetics.mkv"
    wide = lambda n: [0, n // 2, n - 1]  # noqa: E731
    reference = sample_frames(path, wide, 64)
    monkeypatch.setitem(_REGISTRY, "norewind", _REGISTRY["opencv"])  # restored after the test
    register_frame_source("norewind", kinds=("file",))(_NoRewind)
    monkeypatch.setenv("SFC_SDK_FRAME_SOURCE", "norewind")
    monkeypatch.setattr(video, "SEEK_MIN_GAP", 20)
    got = sample_frames(path, wide, 64)
    assert got.indices == reference.indices and got.num_frames == reference.num_frames
    np.testing.assert_array_equal(got.frames, reference.frames)
