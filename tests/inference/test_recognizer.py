"""Recognizer end to end on real clips: SFC and dense modes, model files, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sfc_sdk import Recognizer, load_model
from sfc_sdk.errors import CheckpointError, ConfigError, RuntimeUnavailableError
from sfc_sdk.video.sampling import WHOLE_VIDEO_MAX_FRAMES, clip_indices, uniform_indices
from sfc_sdk.video.transforms import center_crop, normalize, resize_short_side


@pytest.fixture(scope="module")
def rec(tiny_model_dir):
    return Recognizer(tiny_model_dir, device="cpu")


def _softmax(x: torch.Tensor) -> np.ndarray:
    return torch.softmax(x, dim=-1).numpy()


def test_sfc_prediction_matches_the_pipeline_done_by_hand(decode_all, rec, run_clip):
    pred = rec.predict(run_clip, top_k=3, short="repeat")
    frames = decode_all(run_clip)
    spec = rec.input_spec
    picked = np.stack([resize_short_side(frames[i], spec.resize_size) for i in uniform_indices(len(frames), 64)])
    x = torch.from_numpy(normalize(center_crop(picked, spec.crop_size), spec.mean, spec.std))[None]
    with torch.no_grad():
        logits, kept = rec.model(x, 4)
    probs = _softmax(logits[0])
    assert [t.index for t in pred.top] == list(np.argsort(-probs)[:3])
    np.testing.assert_allclose([t.score for t in pred.top], np.sort(probs)[::-1][:3], rtol=1e-5)
    assert pred.label == rec.labels[pred.top[0].index] and pred.mode == "sfc" and pred.ratio == 4

    # 64 frames -> 32 head steps -> 8 kept moments, in order, inside the video.
    assert len(pred.kept) == 8 == kept.shape[1]
    times = pred.kept_times
    assert times == sorted(times) and 0 <= times[0] and times[-1] <= pred.duration_s
    assert pred.num_frames == 42 and pred.fps == pytest.approx(25.0) and pred.padded  # 42 < 64 frames
    assert any("fewer than the 64" in n for n in pred.notes)
    assert set(pred.timings_ms) == {"decode", "preprocess", "inference", "total"}
    assert pred.runtime == "torch/cpu/fp32"


def test_short_video_is_sampled_at_the_training_stride_and_keeps_as_many_moments(decode_all, rec, run_clip):
    """42 frames < 64 x 2 (the tiny model's clips are 2 frames apart): 16 frames about 2.6
    apart (nearer 2 than 32 frames 1.3 apart) at ratio 1, still 8 kept moments, as by hand."""
    assert rec.input_spec.frame_stride == 2
    pred = rec.predict(run_clip, top_k=3)
    frames = decode_all(run_clip)
    idx = uniform_indices(len(frames), 16)
    assert len(set(idx)) == 16
    spec = rec.input_spec
    picked = np.stack([resize_short_side(frames[i], spec.resize_size) for i in idx])
    x = torch.from_numpy(normalize(center_crop(picked, spec.crop_size), spec.mean, spec.std))[None]
    with torch.no_grad():
        logits, kept = rec.model(x, 1)
    assert [t.index for t in pred.top] == list(np.argsort(-_softmax(logits[0]))[:3])
    assert pred.ratio == 1 and pred.sampled_frames == 16 and not pred.padded and len(pred.kept) == 8
    assert [k.frame for k in pred.kept] == [idx[p * 2 + 1] for p in kept[0].tolist()]
    assert any("sampled 16 of them, about 2.6 apart" in n for n in pred.notes)
    # A longer video (100 frames, over 64 but under 64 x 2): 48 frames about 2.1 apart, not 64 1.6 apart.
    longer = rec.predict(np.stack([frames[i % len(frames)] for i in range(100)]), fps=25.0)
    assert (longer.sampled_frames, longer.ratio, len(longer.kept)) == (48, 3, 8)


def test_dense_views_match_the_pipeline_done_by_hand(decode_all, rec, clips_dir):
    video = clips_dir / "arm_wrestling_kinetics.mp4"
    spec = rec.input_spec
    frames = decode_all(video)
    preds = {v: rec.predict(video, mode="dense", views=v) for v in ("1x1", "10x1", "10x3")}
    for v, clips in (("1x1", 1), ("10x1", 10)):
        batch = []
        for idx in clip_indices(len(frames), clips, spec.clip_len, spec.frame_stride):
            picked = np.stack([resize_short_side(frames[i], spec.resize_size) for i in idx])
            batch.append(normalize(center_crop(picked, spec.crop_size), spec.mean, spec.std))
        with torch.no_grad():
            probs = _softmax(rec.model.forward_views(torch.from_numpy(np.stack(batch)))).mean(0)
        got = preds[v]
        assert got.top[0].index == int(probs.argmax())
        np.testing.assert_allclose(got.top[0].score, probs.max(), rtol=1e-4)
        assert got.sampled_frames == clips * spec.clip_len and got.kept == [] and got.views == v
    assert preds["10x3"].sampled_frames == 160 and preds["10x3"].top != preds["10x1"].top


def test_whole_video_view_is_one_pass_over_every_frame_as_done_by_hand(decode_all, rec, clips_dir):
    """`views="whole"`: every `frame_stride`-th frame of the video, centred and trimmed to the
    network's temporal stride, one centre crop, one forward (the I3D paper's test protocol)."""
    video = clips_dir / "arm_wrestling_kinetics.mp4"
    spec, multiple = rec.input_spec, rec.model.backbone.temporal_stride
    frames = decode_all(video)
    every = list(range(0, len(frames), spec.frame_stride))
    drop = len(every) % multiple
    idx = every[drop // 2:len(every) - (drop - drop // 2)]
    picked = np.stack([resize_short_side(frames[i], spec.resize_size) for i in idx])
    x = torch.from_numpy(normalize(center_crop(picked, spec.crop_size), spec.mean, spec.std))[None]
    with torch.no_grad():
        probs = _softmax(rec.model.forward_views(x))[0]
    pred = rec.predict(video, mode="dense", views="whole")
    assert pred.views == "whole" and pred.sampled_frames == len(idx) > spec.clip_len and len(idx) % multiple == 0
    assert pred.top[0].index == int(probs.argmax())
    np.testing.assert_allclose(pred.top[0].score, probs.max(), rtol=1e-4)

    # A long video is spread over at most WHOLE_VIDEO_MAX_FRAMES frames, and says so.
    long = np.zeros((WHOLE_VIDEO_MAX_FRAMES * spec.frame_stride + 40, 48, 64, 3), np.uint8)
    capped = rec.predict(long, mode="dense", views="whole", fps=25.0)
    assert capped.sampled_frames == WHOLE_VIDEO_MAX_FRAMES and any("spread over" in n for n in capped.notes)
    with pytest.raises(ConfigError, match="whole"):
        rec.predict(video, mode="dense", views="all")


def test_saved_and_in_memory_models_agree(rec, tiny_model_dir, run_clip):
    net, config = load_model(tiny_model_dir)
    again = Recognizer.from_model(net, config, device="cpu").predict(run_clip)
    first = rec.predict(run_clip)
    assert again.top == first.top and again.kept == first.kept


def test_batch_and_arrays(decode_all, rec, run_clip, clips_dir):
    videos = [run_clip, clips_dir / "unlabeled_320x240.avi"]
    preds = rec.predict_batch(videos, top_k=2)
    assert [p.source for p in preds] == [str(v) for v in videos] and all(len(p.top) == 2 for p in preds)
    short = np.stack(decode_all(run_clip)[:10])
    pred = rec.predict(short, fps=25.0)  # fewer frames than even one ratio step: frames repeat
    assert pred.padded and pred.num_frames == 10 and pred.kept_times[-1] <= 0.4
    json.loads(pred.to_json())  # serialisable as the CLI prints it


def test_every_path_reports_the_same_timings(rec, run_clip):
    """SFC, dense, a batch and a live window time the same phases, in the same order, and
    each total is the sum of its phases (a window's frames were decoded as they arrived)."""
    preds = {"sfc": rec.predict(run_clip), "dense": rec.predict(run_clip, mode="dense", views="1x1"),
             "batch": rec.predict_batch([run_clip])[0],
             "window": next(iter(rec.stream(run_clip, window_s=1.0, max_windows=1))).prediction}
    for path, pred in preds.items():
        t = pred.timings_ms
        assert list(t) == ["decode", "preprocess", "inference", "total"], path
        assert t["total"] == pytest.approx(t["decode"] + t["preprocess"] + t["inference"]), path
        assert t["inference"] > 0 and t["preprocess"] > 0, path
        assert (t["decode"] == 0) == (path == "window"), path


def test_bad_arguments_are_config_errors(rec, run_clip):
    with pytest.raises(ConfigError, match="mode"):
        rec.predict(run_clip, mode="fast")
    with pytest.raises(ConfigError, match="ratio 3"):
        rec.predict(run_clip, ratio=3)
    with pytest.raises(ConfigError, match="top_k"):
        rec.predict(run_clip, top_k=0)
    with pytest.raises(ConfigError, match="CLIPSxCROPS"):
        rec.predict(run_clip, mode="dense", views="ten")
    with pytest.raises(ConfigError, match="decode must be one of exact, reference"):
        rec.predict(run_clip, decode="fast")
    with pytest.raises(ConfigError, match="goes with SFC"):
        rec.predict(run_clip, mode="dense", decode="reference")


def test_broken_model_directories_are_refused(tiny_model_dir, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        Recognizer(tmp_path / "nothing")
    with pytest.raises(CheckpointError, match="no config.json"):
        Recognizer(tmp_path)
    broken = tmp_path / "v9"
    broken.mkdir()
    meta = json.loads((tiny_model_dir / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**meta, "format_version": 9}))
    with pytest.raises(CheckpointError, match="version 9 is not supported"):
        Recognizer(broken)
    (broken / "config.json").write_text(json.dumps({**meta, "backbone": "r3d_18"}))
    (broken / "model.safetensors").write_bytes((tiny_model_dir / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="does not fit"):
        Recognizer(broken)
    (broken / "config.json").write_text(json.dumps({**meta, "labels": "run"}))
    with pytest.raises(CheckpointError, match="labels"):
        Recognizer(broken)


def test_a_hand_written_config_gets_the_backbones_split_and_preprocessing(tiny_model_dir, tmp_path, run_clip):
    """config.json may leave `split` and `input` open: the PyTorch runtime fills them from
    the backbone, for predictions and for what `describe` reports."""
    model = tmp_path / "open"
    model.mkdir()
    meta = json.loads((tiny_model_dir / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({k: v for k, v in meta.items() if k not in ("split", "input")}))
    (model / "model.safetensors").write_bytes((tiny_model_dir / "model.safetensors").read_bytes())
    rec, full = Recognizer(model, device="cpu"), Recognizer(tiny_model_dir, device="cpu")
    assert rec.input_spec == full.input_spec and rec.describe()["split"] == "layer2"
    assert rec.predict(run_clip).top == full.predict(run_clip).top


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_a_gpu_is_a_clear_error(tiny_model_dir):
    with pytest.raises(RuntimeUnavailableError, match="no usable CUDA GPU"):
        Recognizer(tiny_model_dir, device="cuda")
