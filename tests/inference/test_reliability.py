"""Nothing lost, nothing shared wrongly: resumable batch jobs, a Recognizer used from 8
threads, and fuzzed manifests and frame arrays that only ever raise typed errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sfc_sdk import Recognizer
from sfc_sdk.bundle import Manifest, load_manifest
from sfc_sdk.errors import SfcError
from sfc_sdk.inference.records import FIELDS
from sfc_sdk.video.decode import sample_frames
from sfc_sdk.video.preprocess import sfc_input
from sfc_sdk.video.sampling import uniform_indices


def _results(path: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == len({r["source"] for r in rows}), "a video was recorded twice"
    return {r["source"]: r for r in rows}


def test_batch_output_records_failures_retries_them_and_skips_what_is_done(cli, tmp_path, weizmann_dir):
    folder = tmp_path / "videos"
    folder.mkdir()
    clips = sorted(weizmann_dir.glob("*/daria_*.avi"))[:4]
    for clip in clips[:3]:
        (folder / clip.name).symlink_to(clip)
    broken = folder / "broken.avi"
    broken.write_text("not a video")  # e.g. a copy still in progress
    out = tmp_path / "results.jsonl"
    first = cli("predict", folder, "--output", out)
    assert first.returncode == 1 and "3 done, 1 failed" in first.stderr
    rows = _results(out)
    assert rows[str(broken)]["error_type"] == "NotAVideoError"
    # one flat schema, the one Ray jobs write (Parquet and JSON lines alike)
    assert all(list(r) == list(FIELDS) for r in rows.values())
    assert all(r["label"] and r["top_labels"] for k, r in rows.items() if k != str(broken))

    skip = cli("predict", folder, "--output", out, "--skip-failed")
    assert skip.returncode == 0 and "0 done, 0 failed, 4 already there" in skip.stderr

    broken.unlink()
    broken.symlink_to(clips[3])  # the copy finished: a re-run retries it, keeps the others
    done_before = {k: r for k, r in rows.items() if k != str(broken)}
    again = cli("predict", folder, "--output", out)
    assert again.returncode == 0, again.stderr
    assert "1 done, 0 failed (1 retried after failing before), 3 already there" in again.stderr
    rows = _results(out)
    assert len(rows) == 4 and rows[str(broken)]["error"] is None and rows[str(broken)]["label"]
    assert all(rows[k] == r for k, r in done_before.items())


@pytest.mark.slow
def test_killed_batch_resumes_and_matches_an_uninterrupted_run(cli, tmp_path, weizmann_dir):
    videos = sorted(weizmann_dir.glob("*/eli_*.avi"))  # 10 real clips
    exe = Path(sys.executable).with_name("sfc-sdk")
    whole = tmp_path / "whole.jsonl"
    assert cli("predict", *videos, "--output", whole).returncode == 0

    cut = tmp_path / "cut.jsonl"
    proc = subprocess.Popen([str(exe), "predict", *map(str, videos), "--output", str(cut), "--mode", "dense"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not cut.exists() or cut.read_text().count("\n") < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = cut.read_text().count("\n")
    assert 3 <= kept < len(videos), "the kill should land mid-job"
    # resume in SFC mode: the rows written before the kill stay, the rest are added
    assert cli("predict", *videos, "--output", cut).returncode == 0
    rows = _results(cut)
    assert len(rows) == len(videos)
    sfc_rows = {k: r for k, r in rows.items() if r["mode"] == "sfc"}
    assert len(sfc_rows) == len(videos) - kept
    reference = _results(whole)
    assert all(r["top_labels"] == reference[k]["top_labels"] and r["top_scores"] == reference[k]["top_scores"]
               for k, r in sfc_rows.items())


@pytest.mark.parametrize("kind", ["torch", "openvino"])
def test_one_recognizer_shared_by_8_threads_gives_the_serial_results(kind, bundles, weizmann_dir):
    rec = Recognizer() if kind == "torch" else Recognizer.load(bundles("openvino", "fp32"))
    clips = sorted(weizmann_dir.glob("*/moshe_*.avi"))
    serial = [rec.predict(c) for c in clips]  # short clips: a bundle's short inputs, made on first use
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(rec.predict, clips * 2))
    for got, want in zip(threaded, serial * 2, strict=True):
        assert [t.index for t in got.top] == [t.index for t in want.top] and got.kept == want.kept
        assert abs(got.score - want.score) < 1e-5


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_manifests_raise_only_bundle_errors(bundles, data):
    base = json.loads((bundles("onnx", "fp32") / "manifest.json").read_text())
    doc = dict(base)
    for key in data.draw(st.lists(st.sampled_from(sorted(base)), max_size=4, unique=True)):
        if data.draw(st.booleans()):
            del doc[key]
        else:
            doc[key] = data.draw(json_values)
    try:
        Manifest.from_dict(doc)
    except SfcError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    hnp.arrays(st.sampled_from([np.uint8, np.float32, np.float64, np.int16, np.bool_]),
               hnp.array_shapes(min_dims=0, max_dims=5, max_side=6)),
    st.lists(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, max_side=5)), max_size=4),
    st.none(), st.integers(), st.text(max_size=5).map(lambda s: [s]),
))
def test_fuzzed_frame_inputs_raise_only_typed_errors(video):
    try:
        got = sample_frames(video, lambda n: list(range(min(n, 4))), 8)
    except SfcError:
        return
    assert got.frames.dtype == np.uint8 and got.frames.shape[-1] == 3 and len(got.frames) >= 1


def test_float_frames_with_nan_are_refused():
    frames = np.full((4, 8, 8, 3), np.nan, np.float32)
    with pytest.raises(SfcError, match="uint8"):
        Recognizer().predict(frames)


def test_a_bundle_given_uint8_frames_normalises_them_as_preprocessing_does(bundles, run_clip):
    # e.g. a Ray worker whose runtime fell back to ONNX Runtime, given the uint8 input an
    # OpenVINO driver's recipe makes: never read as if normalised
    runtime = Recognizer.load(bundles("onnx", "fp32")).runtime
    m = runtime.manifest
    assert runtime.uint8_input_spec is None
    frames = sample_frames(run_clip, lambda n: uniform_indices(n, m.frames), m.model.input_spec.resize_size).frames
    got = runtime.run_sfc(sfc_input(frames, m.model.input_spec, uint8=True), m.ratio)
    want = runtime.run_sfc(sfc_input(frames, m.model.input_spec), m.ratio)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_load_manifest_on_garbage_files(tmp_path):
    (tmp_path / "manifest.json").write_bytes(os.urandom(256))
    with pytest.raises(SfcError):
        load_manifest(tmp_path)


MEASURE_PEAK = """
import json, sys
from sfc_sdk import Recognizer
from sfc_sdk.inference.memory import peak_rss_mb
rec = Recognizer(device="cpu")
pred = rec.predict(sys.argv[1])
print(json.dumps({"peak_mb": peak_rss_mb(), "frames": pred.num_frames}))
"""


def test_peak_memory_does_not_grow_with_video_length(tmp_path, run_clip):
    import cv2

    cap = cv2.VideoCapture(str(run_clip))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    peaks = {}
    for minutes in (0.5, 5):
        path = tmp_path / f"loop_{minutes}.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, frames[0].shape[1::-1])
        for i in range(int(minutes * 60 * 25)):
            writer.write(frames[i % len(frames)])
        writer.release()
        out = subprocess.run([sys.executable, "-c", MEASURE_PEAK, str(path)], capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["frames"] == int(minutes * 60 * 25)
        peaks[minutes] = result["peak_mb"]
    assert peaks[5] - peaks[0.5] < 25, f"10x longer video, peak RSS {peaks}"


def _write(path: Path, frames: list[np.ndarray], fps: float = 25) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, frames[0].shape[1::-1])
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def test_one_frame_and_8k_videos_are_handled_and_said_so(tmp_path):
    rec = Recognizer()
    one = rec.predict(_write(tmp_path / "one.avi", [np.full((144, 180, 3), 90, np.uint8)]))
    assert one.num_frames == 1 and one.padded and any("frames repeat" in n for n in one.notes)
    big = rec.predict(_write(tmp_path / "8k.avi", [np.full((4320, 7680, 3), 60, np.uint8)] * 3))
    assert big.num_frames == 3 and len(big.kept) == rec.default_frames // rec.head_stride // rec.default_ratio


@pytest.mark.parametrize("frames,message", [
    (np.zeros((4, 32, 32), np.uint8), r"\(T, H, W, 3\)"),  # grayscale
    (np.zeros((4, 32, 32, 4), np.uint8), r"\(T, H, W, 3\)"),  # with alpha
    (np.zeros((4, 32, 32, 3), np.float32), "uint8"),
    ([np.zeros((32, 32, 3), np.uint8), np.zeros((16, 32, 3), np.uint8)], "sizes differ"),
])
def test_bad_frame_arrays_are_typed_errors(frames, message):
    with pytest.raises(SfcError, match=message):
        Recognizer().predict(frames)
